//! What a show's files and its command line may say about the web pages: the audience page's
//! address (for the join code) and the operator console's secret. Checked here, the same
//! wherever they come from, so a kiosk file's mistake is an error at its line and column like
//! any other, and the command line refuses the same values.

/// Shortest token taken from the command line or a kiosk file: a guess must be hopeless.
pub const MIN_TOKEN_CHARS: usize = 12;

/// Longest join address taken: a QR code that a phone reads from across a room must stay
/// small, and an address of this length already needs a large one.
pub const MAX_URL_CHARS: usize = 200;

/// Why a given join address cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoinUrlError {
    #[error(
        "the join address `{0}` must start with http:// or https:// (e.g. http://dreams.local:9080/join)"
    )]
    Scheme(String),
    #[error("the join address is {0} characters long; at most {MAX_URL_CHARS} fit a readable code")]
    TooLong(usize),
    #[error("the join address may not hold spaces or control characters")]
    Spaces,
}

/// Checks a join address given on the command line or in a kiosk file.
pub fn checked_url(given: &str) -> Result<String, JoinUrlError> {
    let given = given.trim();
    if given.chars().count() > MAX_URL_CHARS {
        return Err(JoinUrlError::TooLong(given.chars().count()));
    }
    if given.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(JoinUrlError::Spaces);
    }
    let rest = given
        .strip_prefix("http://")
        .or_else(|| given.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() => Ok(given.to_string()),
        _ => Err(JoinUrlError::Scheme(given.to_string())),
    }
}

/// Checks a token given on the command line or in a kiosk file.
pub fn checked_token(given: &str) -> Result<String, String> {
    let t = given.trim();
    if t.chars().count() < MIN_TOKEN_CHARS {
        return Err(format!(
            "the console token must be at least {MIN_TOKEN_CHARS} characters (leave it out and one is made for you)"
        ));
    }
    if !t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
    {
        return Err(
            "the console token may hold letters, digits and - _ . ~ only (it travels in an address)"
                .into(),
        );
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_address_is_checked_for_its_scheme_length_and_spaces() {
        assert_eq!(
            checked_url(" https://dreams.example/join "),
            Ok("https://dreams.example/join".into())
        );
        assert!(matches!(
            checked_url("dreams.local/join"),
            Err(JoinUrlError::Scheme(_))
        ));
        assert!(matches!(
            checked_url("http://"),
            Err(JoinUrlError::Scheme(_))
        ));
        assert_eq!(checked_url("http://a b"), Err(JoinUrlError::Spaces));
        assert_eq!(
            checked_url(&format!("http://{}", "a".repeat(300))),
            Err(JoinUrlError::TooLong(307))
        );
    }

    #[test]
    fn a_given_token_must_be_long_and_plain() {
        assert_eq!(
            checked_token(" stage-left.2026 "),
            Ok("stage-left.2026".into())
        );
        assert!(checked_token("short").is_err());
        assert!(checked_token("has spaces in it here").is_err());
        assert!(checked_token("amp&ersand=token").is_err());
    }
}
