//! Reading inputs with a size limit, so that no file or pipe can make a gate use unbounded
//! memory. `-` means standard input.
use crate::report::{GateError, general};
use std::io::Read;
use std::path::Path;

/// Read at most `limit` bytes from `path` (or stdin for `-`); more is an error, not a truncation.
pub fn read_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, GateError> {
    let display = path.display();
    if path.as_os_str() == "-" {
        return read_stream(std::io::stdin().lock(), limit, what, "standard input");
    }
    let file = std::fs::File::open(path)
        .map_err(|e| GateError::new(&general::IO, format!("cannot read {what} {display}: {e}")))?;
    // A regular file's size sizes the buffer, so that it is read in one call (and one more
    // that finds the end), not in doubling pieces from 32 bytes.
    let mut expected = 0;
    if let Ok(meta) = file.metadata() {
        if meta.is_dir() {
            return Err(GateError::new(
                &general::IO,
                format!("{what} {display} is a directory, not a file"),
            ));
        }
        if meta.is_file() && meta.len() > limit {
            return Err(too_large(what, &display.to_string(), limit));
        }
        if meta.is_file() {
            expected = meta.len();
        }
    }
    read_into(expected, file, limit, what, &display.to_string())
}

/// Read at most `limit` bytes from any reader; one byte more is an error.
pub fn read_stream(
    reader: impl Read,
    limit: u64,
    what: &str,
    name: &str,
) -> Result<Vec<u8>, GateError> {
    read_into(0, reader, limit, what, name)
}

/// [`read_stream`], with room reserved for `expected` bytes and the end.
fn read_into(
    expected: u64,
    reader: impl Read,
    limit: u64,
    what: &str,
    name: &str,
) -> Result<Vec<u8>, GateError> {
    // `expected` is at most `limit` here; a file that grew since is still cut at `limit + 1`.
    let mut buf = Vec::with_capacity(usize::try_from(expected).unwrap_or(0).saturating_add(1));
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| GateError::new(&general::IO, format!("cannot read {what} {name}: {e}")))?;
    if buf.len() as u64 > limit {
        return Err(too_large(what, name, limit));
    }
    Ok(buf)
}

fn too_large(what: &str, name: &str, limit: u64) -> GateError {
    GateError::new(
        &general::TOO_LARGE,
        format!("{what} {name} is larger than the limit of {limit} bytes; refusing to read it"),
    )
}

/// Decode UTF-8 or fail with a clear message.
pub fn utf8(bytes: Vec<u8>, what: &str, name: &str) -> Result<String, GateError> {
    String::from_utf8(bytes)
        .map_err(|_| GateError::new(&general::IO, format!("{what} {name} is not UTF-8 text")))
}
