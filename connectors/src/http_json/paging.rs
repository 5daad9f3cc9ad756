//! The next page of a listing.

use super::*;

impl HttpJsonConnector {
    /// The next page of a cursor listing: a URL the server gave (same server only: our credentials go
    /// with it), or the token as a query parameter.
    pub(super) fn next_cursor_url(
        &self,
        current: &Url,
        since: Option<&Cursor>,
        param: &str,
        token: &str,
        size_param: &Option<String>,
        size: Option<u32>,
    ) -> Result<Url, ConnectorError> {
        if token.starts_with("http://") || token.starts_with("https://") || token.starts_with('/') {
            let next = current.join(token).map_err(|e| {
                ConnectorError::Content(format!("{current}: next page {token:?}: {e}"))
            })?;
            if next.origin() != self.url.origin() {
                return Err(ConnectorError::Content(format!(
                    "{current}: the next page {next} is on another server; not following it with our credentials"
                )));
            }
            return Ok(next);
        }
        let mut extra = vec![(param, token.to_string())];
        if let (Some(p), Some(n)) = (size_param, size) {
            extra.push((p.as_str(), n.to_string()));
        }
        Ok(self.url_with(since, &extra))
    }
}
