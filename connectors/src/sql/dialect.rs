//! The SQL back ends a source may be on, and how each is connected to.

use super::*;

/// The database family a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    MySql,
    Postgres,
    Sqlite,
}

impl Dialect {
    /// The dialect of `url` by its scheme; the error quotes only the scheme, never the URL.
    pub fn of_url(url: &str) -> Result<Dialect, ConnectorError> {
        let scheme = url
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        match scheme.as_str() {
            "mysql" | "mariadb" => Ok(Dialect::MySql),
            "postgres" | "postgresql" => Ok(Dialect::Postgres),
            "sqlite" => Ok(Dialect::Sqlite),
            _ => Err(ConnectorError::Config(format!(
                "url: scheme {scheme:?} is not mysql://, mariadb://, postgres:// or sqlite://"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::MySql => "MySQL/MariaDB",
            Dialect::Postgres => "PostgreSQL",
            Dialect::Sqlite => "SQLite",
        }
    }

    /// The bind placeholder `:cursor` becomes.
    pub(super) fn placeholder(self) -> &'static str {
        match self {
            Dialect::MySql | Dialect::Sqlite => "?",
            // One numbered parameter serves every use of :cursor.
            Dialect::Postgres => "$1",
        }
    }
}

/// Connect options for a URL (no password inside) and an optional password. MySQL URLs may say
/// `mariadb://`; the driver wants `mysql://`. Public so that the simulator's bookkeeping database
/// connects the way the connector does.
pub fn mysql_options(
    url: &str,
    password: Option<&Secret>,
) -> Result<MySqlConnectOptions, sqlx::Error> {
    let url = match url.split_once(':') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => format!("mysql:{rest}"),
        _ => url.to_string(),
    };
    let options = MySqlConnectOptions::from_str(&url)?
        // Naive times are Bangkok wall-clock time everywhere in the hub, TIMESTAMP columns included.
        .timezone(Some("+07:00".to_string()))
        // Keep `||` meaning what it means in the fund's own application.
        .pipes_as_concat(false);
    Ok(match password {
        Some(p) => options.password(p.expose()),
        None => options,
    })
}

/// PostgreSQL connect options for a URL (no password inside) and an optional password. Public so that
/// the simulator's bookkeeping database connects the way the connector does.
pub fn pg_options(url: &str, password: Option<&Secret>) -> Result<PgConnectOptions, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name("welfare-hub");
    Ok(match password {
        Some(p) => options.password(p.expose()),
        None => options,
    })
}

/// Refuses a URL with a password in it (user info or a `password` parameter); the message never
/// repeats the URL.
pub(super) fn refuse_url_password(url: &str, dialect: Dialect) -> Result<(), ConnectorError> {
    if dialect == Dialect::Sqlite {
        return Ok(());
    }
    let parsed = url::Url::parse(url)
        .map_err(|e| ConnectorError::Config(format!("url is not a valid URL: {e}")))?;
    let in_query = parsed
        .query_pairs()
        .any(|(k, _)| k.to_ascii_lowercase().contains("password"));
    if parsed.password().is_some() || in_query {
        return Err(ConnectorError::Config(
            "url carries a password: remove it and name an environment variable that holds it \
             with `password_env`"
                .into(),
        ));
    }
    Ok(())
}
