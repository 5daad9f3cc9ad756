//! The read-only query guard: one SELECT (or WITH … SELECT), nothing that writes or locks, and
//! the `:cursor` placeholder in each back end's syntax.

use super::*;

/// The configured query after the read-only guard, with `:cursor` replaced by the placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct GuardedQuery {
    pub(super) sql: String,
    pub(super) cursor_uses: usize,
}

/// What the guard sees of a query: words (with their parenthesis depth) and structure, never the
/// inside of literals or comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    Word(String, i32),
    Open,
    Close,
    /// A `;` and where it starts in the rewritten text.
    Semicolon(usize),
    Other,
}

/// The index after the closing `quote` of the literal or quoted name opening at `start`; a doubled
/// quote stays inside, as does a backslash-escaped one where the dialect has backslash escapes.
pub(super) fn skip_quoted(
    chars: &[char],
    start: usize,
    quote: char,
    backslash: bool,
) -> Result<usize, String> {
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if backslash && c == '\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return Ok(i + 1);
        }
        i += 1;
    }
    Err(format!("unterminated {quote}…{quote}"))
}

/// Checks that `query` is one read-only SELECT and rewrites `:cursor` for the dialect. This is the
/// first line; the read-only transaction is the one that holds.
pub(super) fn guard_query(query: &str, dialect: Dialect) -> Result<GuardedQuery, String> {
    let chars: Vec<char> = query.chars().collect();
    let n = chars.len();
    let is_ident =
        |c: char| c.is_alphanumeric() || c == '_' || (c == '$' && dialect != Dialect::Sqlite);
    let mut out = String::with_capacity(query.len() + 8);
    let mut tokens = Vec::new();
    let mut cursor_uses = 0;
    let mut depth: i32 = 0;
    let mut i = 0;
    while i < n {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let mut end = i + 1;
        match c {
            '\'' => {
                let backslash = match dialect {
                    Dialect::MySql => true,
                    // PostgreSQL escapes only in E'…' strings.
                    Dialect::Postgres => {
                        matches!(prev, Some('e' | 'E'))
                            && !i.checked_sub(2).is_some_and(|p| is_ident(chars[p]))
                    }
                    Dialect::Sqlite => false,
                };
                end = skip_quoted(&chars, i, '\'', backslash)?;
                tokens.push(Token::Other);
            }
            // A string in MySQL, a quoted name elsewhere: either way not SQL to look into.
            '"' => {
                end = skip_quoted(&chars, i, '"', dialect == Dialect::MySql)?;
                tokens.push(Token::Other);
            }
            '`' if dialect != Dialect::Postgres => {
                end = skip_quoted(&chars, i, '`', false)?;
                tokens.push(Token::Other);
            }
            '[' if dialect == Dialect::Sqlite => {
                end = chars[i..]
                    .iter()
                    .position(|&c| c == ']')
                    .map(|p| i + p + 1)
                    .ok_or("unterminated […]")?;
                tokens.push(Token::Other);
            }
            // MySQL reads `--` as a comment only before a space.
            '-' if next == Some('-')
                && (dialect != Dialect::MySql
                    || chars
                        .get(i + 2)
                        .is_none_or(|c| c.is_whitespace() || c.is_control())) =>
            {
                end = chars[i..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(n, |p| i + p);
            }
            '#' if dialect == Dialect::MySql => {
                end = chars[i..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(n, |p| i + p);
            }
            '/' if next == Some('*') => {
                let after = chars.get(i + 2).copied();
                let executable =
                    after == Some('!') || (after == Some('M') && chars.get(i + 3) == Some(&'!'));
                if dialect == Dialect::MySql && executable {
                    return Err("MySQL executable comments (/*! … */) are not allowed".into());
                }
                // PostgreSQL nests block comments.
                let mut level = 0;
                let mut j = i;
                loop {
                    if j + 1 >= n {
                        return Err("unterminated /* comment".into());
                    }
                    if chars[j] == '/' && chars[j + 1] == '*' {
                        level += if dialect == Dialect::Postgres || level == 0 {
                            1
                        } else {
                            0
                        };
                        j += 2;
                    } else if chars[j] == '*' && chars[j + 1] == '/' {
                        level -= 1;
                        j += 2;
                        if level == 0 {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                end = j;
            }
            '$' if dialect == Dialect::Postgres && next.is_some_and(|c| c.is_ascii_digit()) => {
                return Err("numbered parameters ($1) are not allowed: write :cursor".into());
            }
            '$' if dialect == Dialect::Postgres && !prev.is_some_and(is_ident) => {
                // A dollar-quoted string: $$…$$ or $tag$…$tag$.
                let tag_end = chars[i + 1..]
                    .iter()
                    .position(|&c| !(c.is_alphanumeric() || c == '_'))
                    .map(|p| i + 1 + p);
                match tag_end {
                    Some(t) if chars[t] == '$' => {
                        let tag: String = chars[i..=t].iter().collect();
                        let body: String = chars[t + 1..].iter().collect();
                        let close = body.find(&tag).ok_or("unterminated $$ string")?;
                        end = t + 1 + body[..close].chars().count() + tag.chars().count();
                    }
                    _ => {}
                }
                tokens.push(Token::Other);
            }
            '?' if dialect != Dialect::Postgres => {
                return Err("`?` parameters are not allowed: write :cursor".into());
            }
            ':' if prev != Some(':')
                && chars[i + 1..].starts_with(&['c', 'u', 'r', 's', 'o', 'r'])
                && !chars.get(i + 7).copied().is_some_and(is_ident) =>
            {
                out.push_str(dialect.placeholder());
                cursor_uses += 1;
                tokens.push(Token::Other);
                i += 7;
                continue;
            }
            ':' | '@' | '$'
                if dialect == Dialect::Sqlite
                    && next.is_some_and(|c| c.is_alphabetic() || c == '_') =>
            {
                return Err(format!(
                    "named parameters ({c}name) are not allowed: write :cursor"
                ));
            }
            '(' => {
                depth += 1;
                tokens.push(Token::Open);
            }
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced parentheses".into());
                }
                tokens.push(Token::Close);
            }
            ';' => tokens.push(Token::Semicolon(out.len())),
            c if c.is_alphabetic() || c == '_' => {
                end = chars[i..]
                    .iter()
                    .position(|&c| !is_ident(c))
                    .map_or(n, |p| i + p);
                let word: String = chars[i..end].iter().collect();
                tokens.push(Token::Word(word.to_lowercase(), depth));
            }
            c if c.is_ascii_digit() => {
                end = chars[i..]
                    .iter()
                    .position(|&c| !(c.is_alphanumeric() || c == '.'))
                    .map_or(n, |p| i + p);
                tokens.push(Token::Other);
            }
            c if c.is_whitespace() => {}
            _ => tokens.push(Token::Other),
        }
        out.extend(&chars[i..end]);
        i = end;
    }
    if depth != 0 {
        return Err("unbalanced parentheses".into());
    }

    // One statement: a `;` may only end it.
    if let Some(first) = tokens.iter().position(|t| matches!(t, Token::Semicolon(_))) {
        if tokens[first..]
            .iter()
            .any(|t| !matches!(t, Token::Semicolon(_)))
        {
            return Err("only one statement is allowed (found `;` followed by more)".into());
        }
        if let Token::Semicolon(at) = tokens[first] {
            out.truncate(at);
        }
        tokens.truncate(first);
    }

    let upper = |w: &str| w.to_uppercase();
    let (lead, lead_depth) = match tokens.iter().find(|t| **t != Token::Open) {
        Some(Token::Word(w, d)) => (w.clone(), *d),
        Some(_) => return Err("the query must start with SELECT or WITH".into()),
        None => return Err("the query is empty".into()),
    };
    if lead != "select" && lead != "with" {
        return Err(format!(
            "the query must be one read-only SELECT (or WITH … SELECT) statement; it starts with {}",
            upper(&lead)
        ));
    }
    const VERBS: &[&str] = &[
        "select", "insert", "update", "delete", "merge", "replace", "values", "table",
    ];
    if lead == "with" {
        let verb = tokens
            .iter()
            .skip_while(|t| **t == Token::Open)
            .skip(1)
            .find_map(|t| match t {
                Token::Word(w, d) if *d == lead_depth && VERBS.contains(&w.as_str()) => Some(w),
                _ => None,
            });
        match verb {
            Some(v) if v == "select" => {}
            Some(v) => {
                return Err(format!(
                    "the statement after WITH is {}, not SELECT",
                    upper(v)
                ));
            }
            None => return Err("WITH without a SELECT".into()),
        }
    }
    for (k, t) in tokens.iter().enumerate() {
        let Token::Word(w, _) = t else { continue };
        let next_word = match tokens.get(k + 1) {
            Some(Token::Word(n, _)) => n.as_str(),
            _ => "",
        };
        if w == "into" {
            return Err("SELECT … INTO writes (a file, a variable or a table): not allowed".into());
        }
        if (w == "for" && matches!(next_word, "update" | "share" | "no" | "key"))
            || (w == "lock" && next_word == "in")
        {
            return Err(
                "locking reads (FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE) are not allowed".into(),
            );
        }
        // `(DELETE …` is a data-modifying sub-statement; `(INSERT(…)` is MySQL's string function.
        let opened = k > 0 && tokens[k - 1] == Token::Open;
        let called = tokens.get(k + 1) == Some(&Token::Open);
        if opened && !called && matches!(w.as_str(), "insert" | "update" | "delete" | "merge") {
            return Err(format!(
                "a data-modifying {} inside the query is not allowed",
                upper(w)
            ));
        }
    }
    Ok(GuardedQuery {
        sql: out.trim_end().to_string(),
        cursor_uses,
    })
}
