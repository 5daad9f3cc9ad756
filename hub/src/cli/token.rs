//! `welfare-hub token create|list|revoke`: API tokens with a role and a scope.

use anyhow::bail;
use welfare_hub::access::{NewToken, TokenRefusal, issue_token};
use welfare_hub::config::Config;
use welfare_hub::store::Actor;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Make a token. Its secret is printed once, on the last line: only its hash is kept.
    Create {
        /// `viewer`, `province-editor`, `fund-clerk` or `admin`.
        #[arg(long)]
        role: String,
        /// A province editor's province (2 digits); repeat for several.
        #[arg(long = "province", value_name = "NN")]
        provinces: Vec<String>,
        /// A fund clerk's fund.
        #[arg(long)]
        fund: Option<String>,
        /// Who holds it, as the audit will name it.
        #[arg(long)]
        name: String,
        /// The last day it is accepted.
        #[arg(long, value_name = "YYYY-MM-DD")]
        expires: Option<chrono::NaiveDate>,
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// List tokens: name, role, scope, expiry, last use (never a secret).
    List {
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// Revoke a token by name or id; it is refused from then on.
    Revoke {
        name: String,
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
}

pub async fn run(mut config: Config, command: Command) -> anyhow::Result<()> {
    let url = match &command {
        Command::Create { database_url, .. }
        | Command::List { database_url }
        | Command::Revoke { database_url, .. } => database_url.clone(),
    };
    if let Some(url) = url {
        config.database_url = url;
    }
    let store = super::open_store(&config.database_url).await?;
    let actor = Actor::command_line();
    match command {
        Command::Create {
            role,
            provinces,
            fund,
            name,
            expires,
            ..
        } => {
            let wanted = NewToken {
                name,
                role,
                provinces,
                fund,
                expires,
            };
            let (token, secret) = match issue_token(&store, &wanted, &actor).await {
                Ok(made) => made,
                Err(TokenRefusal::Invalid(m)) => bail!("no token made: {m}"),
                Err(e) => return Err(e.into()),
            };
            println!(
                "Token {} ({}) for {}{}{}; expires {}. Its secret, shown this once:",
                token.name,
                token.id,
                token.role,
                if token.provinces.is_empty() {
                    String::new()
                } else {
                    format!(" of provinces {}", token.provinces.join(", "))
                },
                token
                    .fund_id
                    .as_deref()
                    .map(|f| format!(" of fund {f}"))
                    .unwrap_or_default(),
                token
                    .expires_on
                    .map_or("never".to_string(), |d| d.to_string()),
            );
            println!("{secret}");
        }
        Command::List { .. } => {
            let tokens = store.tokens().await?;
            println!("name\tid\trole\tscope\texpires\tlast used\tstate");
            for t in &tokens {
                let scope = match (&t.provinces[..], &t.fund_id) {
                    ([], None) => "all".to_string(),
                    ([], Some(f)) => format!("fund {f}"),
                    (p, _) => format!("provinces {}", p.join(",")),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.name,
                    t.id,
                    t.role,
                    scope,
                    t.expires_on.map_or("never".to_string(), |d| d.to_string()),
                    t.last_used_at.as_deref().unwrap_or("never"),
                    if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }
        Command::Revoke { name, .. } => match store.revoke_token(&name, &actor).await? {
            Some(t) => println!(
                "Token {} ({}) revoked at {}",
                t.name,
                t.id,
                t.revoked_at.as_deref().unwrap_or("?")
            ),
            None => bail!("no token named {name:?}"),
        },
    }
    Ok(())
}
