//! The API token and what keeps it secret: it is never shown (`Debug` prints `***`), it is
//! sent only over https (plain http only to this machine), and every text from a server or a
//! transport error is redacted ([`redact`]) before it is shown, since a server may echo the
//! token back in any letter case or in pieces.

/// A token shorter than this is refused: it could not be told apart from ordinary text when
/// redacting (Forgejo's own tokens are 40 hex digits).
pub const MIN_TOKEN_CHARS: usize = 8;
/// Any piece of the token this long or longer, in any letter case, is redacted.
pub const MIN_FRAGMENT_CHARS: usize = 6;

/// Text from a server or a transport error, made safe to print: every piece of the token at
/// least [`MIN_FRAGMENT_CHARS`] long, in any letter case, and every token-shaped run (20 or
/// more letters, digits and `-_.+/=` with both letters and digits) becomes `***`; control
/// characters are neutralised and the result is cut to 300 characters.
pub fn redact(token: &str, text: &str) -> String {
    let text: Vec<char> = text.chars().take(1000).collect();
    let low: Vec<char> = text.iter().map(|c| c.to_ascii_lowercase()).collect();
    let tok: Vec<char> = token.chars().map(|c| c.to_ascii_lowercase()).collect();
    let min = MIN_FRAGMENT_CHARS.min(tok.len()).max(1);
    let mut hide = vec![false; text.len()];
    for i in 0..low.len() {
        let mut longest = 0;
        for j in 0..tok.len() {
            let k = low[i..]
                .iter()
                .zip(&tok[j..])
                .take_while(|(a, b)| a == b)
                .count();
            longest = longest.max(k);
        }
        if longest >= min {
            hide[i..i + longest].iter_mut().for_each(|h| *h = true);
        }
    }
    let shaped =
        |c: &char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '/' | '=');
    let mut i = 0;
    while i < text.len() {
        let run = text[i..].iter().take_while(|c| shaped(c)).count();
        if run == 0 {
            i += 1;
            continue;
        }
        let word = &text[i..i + run];
        if run >= 20
            && word.iter().any(char::is_ascii_digit)
            && word.iter().any(char::is_ascii_alphabetic)
        {
            hide[i..i + run].iter_mut().for_each(|h| *h = true);
        }
        i += run;
    }
    let mut out = String::new();
    for (n, c) in text.iter().enumerate() {
        if hide[n] {
            if n == 0 || !hide[n - 1] {
                out.push_str("***");
            }
        } else {
            out.push(*c);
        }
    }
    crate::render::text::clean(&out.chars().take(300).collect::<String>())
}

/// May a token be sent to this API URL? `https://`, or plain `http://` to a loopback host
/// (`localhost`, `127.0.0.0/8`, `[::1]`): a token sent in clear text over a network is as good
/// as published.
pub(super) fn secure_enough(base: &str) -> bool {
    if base.starts_with("https://") {
        return true;
    }
    let Some(rest) = base.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = if authority.starts_with('[') {
        authority.split(']').next().map(|h| format!("{h}]"))
    } else {
        authority.split(':').next().map(str::to_string)
    };
    match host.as_deref() {
        Some("localhost" | "[::1]") => true,
        Some(h) => {
            let parts: Vec<&str> = h.split('.').collect();
            parts.len() == 4
                && parts[0] == "127"
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
        }
        None => false,
    }
}

/// The API token. Never printed: `Debug` shows `***`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(s: String) -> Token {
        Token(s)
    }

    /// The token itself: for the `Authorization` header and for redaction, nothing else.
    pub(super) fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_the_token_in_any_case_and_in_pieces() {
        let t = "tok_9f8e7d6c5b4a3928";
        let shown = redact(t, "a TOK_9F8E7D6C5B4A3928 b tok_9f8e c 7d6c5b4a3928 d");
        assert_eq!(shown, "a *** b *** c *** d");
        // Five characters of the token are not a piece of it; ordinary words stay readable.
        assert_eq!(
            redact(t, "token does not have write access: tok_9"),
            "token does not have write access: tok_9"
        );
        // Token-shaped runs are hidden whatever they are.
        assert_eq!(redact(t, "x ghp_0123456789abcdefABCDEF y"), "x *** y");
        assert_eq!(redact(t, "a\nb"), "a\\nb");
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "https://forgejo.example/api/v1",
            "http://127.0.0.1:3000/api/v1",
            "http://127.9.8.7/api/v1",
            "http://localhost:3000/api/v1",
            "http://[::1]:3000/api/v1",
        ] {
            assert!(secure_enough(ok), "{ok}");
        }
        for bad in [
            "http://forgejo.example/api/v1",
            "http://10.0.0.8/api/v1",
            "http://127.0.0.1.example/api/v1",
            "http://localhost.example/api/v1",
            "http://128.0.0.1/api/v1",
            "http://127.0.0.256/api/v1",
            "http://[::2]/api/v1",
            "HTTP://localhost/api/v1",
        ] {
            assert!(!secure_enough(bad), "{bad}");
        }
    }
}
