//! Credentials of an API (bearer token, basic), never printed, and base64 for basic auth.

use super::*;

/// Credentials with the names of the variables they came from, for messages.
#[derive(Debug)]
pub(super) enum Credentials {
    Bearer {
        env: String,
        token: Secret,
    },
    Basic {
        username: String,
        env: String,
        password: Secret,
        /// `base64(username:password)`, to redact it if a server echoes it.
        header: Secret,
    },
}

impl Credentials {
    pub(super) fn describe(&self) -> String {
        match self {
            Credentials::Bearer { env, .. } => format!("the bearer token from ${env}"),
            Credentials::Basic { username, env, .. } => {
                format!("basic credentials of {username:?} (password from ${env})")
            }
        }
    }

    pub(super) fn secrets(&self) -> Vec<&str> {
        match self {
            Credentials::Bearer { token, .. } => vec![token.expose()],
            Credentials::Basic {
                password, header, ..
            } => vec![password.expose(), header.expose()],
        }
    }
}

/// Standard base64 with padding (for HTTP basic credentials). Public so that the simulator's API
/// checks credentials the way the connector sends them.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
