//! Secrets out of every text the hub shows or keeps: API answers, run errors and logs.
//!
//! A source's secrets belong in named environment variables, but operators also paste them into
//! URLs: a password in the user part (`https://user:pw@host/`), a key in the query
//! (`?api_key=…`, `&access_token=…`, `&X-Amz-Signature=…`). [`redact`] finds both anywhere in a text
//! (a URL alone, an error message quoting one, a JSON document) and replaces the secret with `***`,
//! keeping the rest so the operator still sees which source and parameter it was. A `Bearer` token
//! echoed back by a server is masked too.

use std::borrow::Cow;

/// What a redacted secret reads as.
pub const MASK: &str = "***";

/// Whether a query parameter named `name` carries a credential (case, `-` and `_` do not matter).
pub fn is_secret_parameter(name: &str) -> bool {
    let n: String = name
        .trim()
        .chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    const EXACT: &[&str] = &[
        "key",
        "token",
        "sig",
        "signature",
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "auth",
        "authorization",
        "apikey",
        "credential",
        "credentials",
        "session",
        "sessionid",
        "jwt",
    ];
    const PARTS: &[&str] = &[
        "token",
        "secret",
        "password",
        "passwd",
        "signature",
        "apikey",
        "api_key",
        "credential",
        "private_key",
        "access_key",
    ];
    EXACT.contains(&n.as_str())
        || PARTS.iter().any(|p| n.contains(p))
        || n.ends_with("_key")
        || n.ends_with("_auth")
        || n.ends_with("_sig")
}

/// Where a value written in a URL or a message ends.
fn ends_value(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '&' | '#' | '"' | '\'' | '<' | '>' | '`' | ')' | ']' | '}' | ','
        )
}

/// Characters a query parameter's name is made of.
fn in_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '%')
}

/// `text` with every credential in a URL's user part or query, and every bearer token, masked.
pub fn redact(text: &str) -> Cow<'_, str> {
    let passes: [fn(&str) -> Cow<'_, str>; 3] =
        [mask_query_secrets, mask_user_passwords, mask_bearer_tokens];
    let mut current = Cow::Borrowed(text);
    for pass in passes {
        // A pass that masked nothing borrows: the text is copied only when something is masked.
        let masked = match pass(&current) {
            Cow::Owned(masked) => masked,
            Cow::Borrowed(_) => continue,
        };
        current = Cow::Owned(masked);
    }
    current
}

/// `name=value` after `?`, `&` or `;` (or at the very start) with a secret name: the value masked.
fn mask_query_secrets(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut boundary = true;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if boundary && in_name(c) {
            // Read a name, then '='.
            let start = i;
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !in_name(d) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            boundary = false;
            if let Some(&(eq, '=')) = chars.peek()
                && is_secret_parameter(&text[start..end])
            {
                chars.next();
                let value_start = eq + 1;
                let mut value_end = value_start;
                while let Some(&(j, d)) = chars.peek() {
                    if ends_value(d) || d == ';' {
                        break;
                    }
                    value_end = j + d.len_utf8();
                    chars.next();
                }
                if value_end > value_start && &text[value_start..value_end] != MASK {
                    out.push_str(&text[copied..value_start]);
                    out.push_str(MASK);
                    copied = value_end;
                }
            }
            continue;
        }
        // A parameter starts after a query separator, or after a space or quote in a message or a
        // log line (`token=…`).
        boundary = matches!(c, '?' | '&' | ';' | '(' | '"' | '\'' | ',') || c.is_whitespace();
    }
    if copied == 0 {
        Cow::Borrowed(text)
    } else {
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }
}

/// `scheme://user:password@host`: the password masked, the user kept.
fn mask_user_passwords(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let authority_start = from + found + 3;
        let authority_end = text[authority_start..]
            .find(|c: char| ends_value(c) || matches!(c, '/' | '?'))
            .map_or(text.len(), |e| authority_start + e);
        let authority = &text[authority_start..authority_end];
        if let Some(at) = authority.rfind('@')
            && let Some(colon) = authority[..at].find(':')
        {
            let password = &authority[colon + 1..at];
            if !password.is_empty() && password != MASK {
                let password_start = authority_start + colon + 1;
                out.push_str(&text[copied..password_start]);
                out.push_str(MASK);
                copied = authority_start + at;
            }
        }
        from = authority_end.max(authority_start);
    }
    if copied == 0 {
        Cow::Borrowed(text)
    } else {
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }
}

/// `Bearer <token>` (any case): the token masked.
fn mask_bearer_tokens(text: &str) -> Cow<'_, str> {
    const BEARER: &[u8] = b"bearer ";
    // Found without lower-casing a copy of the text (this runs on every log line). The word is
    // ASCII, so where it starts is a character boundary.
    let find = |from: usize| {
        text.as_bytes()[from..]
            .windows(BEARER.len())
            .position(|w| w.eq_ignore_ascii_case(BEARER))
            .map(|p| from + p)
    };
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = find(from) {
        let token_start = found + BEARER.len();
        let token_end = text[token_start..]
            .find(|c: char| ends_value(c) || c == ';')
            .map_or(text.len(), |e| token_start + e);
        let token = &text[token_start..token_end];
        if !token.is_empty() && token != MASK && token != "<token>" {
            out.push_str(&text[copied..token_start]);
            out.push_str(MASK);
            copied = token_end;
        }
        from = token_end.max(token_start);
    }
    if copied == 0 {
        Cow::Borrowed(text)
    } else {
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }
}

/// Every string inside a JSON value redacted (a connector's configuration as the API shows it).
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            if let Cow::Owned(masked) = redact(s) {
                *s = masked;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_credentials_are_masked_in_any_case_and_spelling() {
        for (text, want) in [
            (
                "https://api.example.org/funds?api_key=abc123&page=2",
                "https://api.example.org/funds?api_key=***&page=2",
            ),
            (
                "https://h/x?page=2&ACCESS_TOKEN=eyJhbGciOi.x-y&z=1",
                "https://h/x?page=2&ACCESS_TOKEN=***&z=1",
            ),
            (
                "https://h/x?Key=k&token=t&Signature=s%2Fd&X-Amz-Signature=abc&X-Amz-Credential=AK%2F1",
                "https://h/x?Key=***&token=***&Signature=***&X-Amz-Signature=***&X-Amz-Credential=***",
            ),
            (
                "https://h/x?password=p;sig=q#frag",
                "https://h/x?password=***;sig=***#frag",
            ),
            (
                "https://h/x?client_secret=s&subscription-key=k&apikey=z",
                "https://h/x?client_secret=***&subscription-key=***&apikey=***",
            ),
            ("api_key=abc", "api_key=***"),
        ] {
            assert_eq!(redact(text), want, "{text}");
        }
    }

    #[test]
    fn ordinary_parameters_and_text_are_kept() {
        for text in [
            "https://h/funds?page=2&limit=100&province=50&period=2026-10",
            "https://h/funds?keyword=x&monkey=1&author=me",
            "the token is not valid",
            "send Authorization: Bearer <token>",
            "สมาชิกลาออก/เสียชีวิต=12",
            "https://h/x?api_key=***",
            "",
        ] {
            assert!(matches!(redact(text), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn secrets_inside_messages_and_user_parts_are_masked() {
        assert_eq!(
            redact(
                "source unreachable: error sending request for url (https://h:8443/api?token=s3cr3t): connection refused"
            ),
            "source unreachable: error sending request for url (https://h:8443/api?token=***): connection refused"
        );
        assert_eq!(
            redact("postgres://reader:pa55@db:5432/funds and mysql://root:x@h/db"),
            "postgres://reader:***@db:5432/funds and mysql://root:***@h/db"
        );
        assert_eq!(
            redact("https://user@host/x"),
            "https://user@host/x",
            "no password"
        );
        assert_eq!(
            redact("the server said: Authorization: bearer abc.def-ghi, refused"),
            "the server said: Authorization: bearer ***, refused"
        );
        assert_eq!(
            redact("\"url\":\"https://h/x?token=abc\""),
            "\"url\":\"https://h/x?token=***\""
        );
        // Thai text around a URL stays whole.
        assert_eq!(
            redact("รายงาน https://h/รายงาน.csv?token=ลับ แล้ว"),
            "รายงาน https://h/รายงาน.csv?token=*** แล้ว"
        );
    }

    #[test]
    fn json_strings_are_redacted_at_any_depth() {
        let mut v = serde_json::json!({
            "kind": "http_json",
            "url": "https://h/x?api_key=abc",
            "headers": [{"name": "x", "value": "https://u:p@h/"}],
            "timeout": 5
        });
        redact_json(&mut v);
        assert_eq!(v["url"], "https://h/x?api_key=***");
        assert_eq!(v["headers"][0]["value"], "https://u:***@h/");
        assert_eq!(v["timeout"], 5);
    }
}
