//! JSON read strictly: a key repeated in one object is an error (serde_json would silently
//! keep the last one, which lets a plan say two things at once). Nesting is bounded by
//! serde_json's recursion limit.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a text is not strict JSON. Callers choose their reason code by [`JsonError::kind`],
/// never by the message's wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    kind: JsonErrorKind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonErrorKind {
    /// Nested deeper than serde_json's recursion limit (128).
    TooDeep,
    /// Not JSON, not one value, or a key repeated in one object.
    Invalid,
}

impl JsonError {
    pub fn kind(&self) -> JsonErrorKind {
        self.kind
    }

    fn from_serde(e: &serde_json::Error) -> JsonError {
        let message = e.to_string();
        // serde_json names its nesting limit in no error code it exports, only in this
        // message; the wording is pinned by `deep_nesting_is_too_deep_not_invalid` below.
        let kind = if e.is_syntax() && message.starts_with("recursion limit exceeded") {
            JsonErrorKind::TooDeep
        } else {
            JsonErrorKind::Invalid
        };
        JsonError { kind, message }
    }
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JsonError {}

impl From<JsonError> for String {
    fn from(e: JsonError) -> String {
        e.message
    }
}

/// Parse `bytes` as one JSON value, refusing duplicate keys.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict::deserialize(&mut de).map_err(|e| JsonError::from_serde(&e))?;
    de.end().map_err(|e| JsonError::from_serde(&e))?;
    Ok(value.0)
}

/// Read `value` into the typed document `T`, naming the path of the first field that does not
/// fit (`` `labels[0].name`: invalid type: integer `1`, expected a string ``).
pub fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            inner.to_string()
        } else {
            format!("`{path}`: {inner}")
        }
    })
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Strict(Value::Array(out)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{}`",
                    key.escape_debug()
                )));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Strict(Value::Object(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(parse_strict(br#"{"a":1,"a":2}"#).is_err());
        let err = parse_strict(br#"{"x":[{"k":1,"k":1}]}"#).unwrap_err();
        assert_eq!(err.kind(), JsonErrorKind::Invalid);
        assert!(err.to_string().contains("duplicate key `k`"), "{err}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_strict(deep.as_bytes()).is_err());
    }

    #[test]
    fn deep_nesting_is_too_deep_not_invalid() {
        for open in ["[", "{\"a\":"] {
            let deep = format!("{}1", open.repeat(200));
            let err = parse_strict(deep.as_bytes()).unwrap_err();
            assert_eq!(err.kind(), JsonErrorKind::TooDeep, "{err}");
        }
        // 100 levels are within the limit: a syntax error there is not "too deep".
        let broken = format!("{}x", "[".repeat(100));
        assert_eq!(
            parse_strict(broken.as_bytes()).unwrap_err().kind(),
            JsonErrorKind::Invalid
        );
        let fine = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse_strict(fine.as_bytes()).is_ok());
    }

    #[test]
    fn trailing_garbage_is_refused() {
        assert!(parse_strict(b"{} {}").is_err());
    }
}
