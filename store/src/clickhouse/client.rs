//! A ClickHouse HTTP interface client: statements as POST bodies, inserts as `JSONEachRow`,
//! selects read back as `JSONEachRow` one line at a time (large answers are streamed).
//!
//! ClickHouse 18.16 (Debian's package) has no query parameters (`{name:Type}` came in 19.x),
//! so values are written into statements as literals with [`quote`].

use crate::{Result, StoreError};
use serde::de::DeserializeOwned;
use std::io::{BufRead, BufReader, Read};
use std::time::Duration;

/// Where the index lives: `clickhouse://[USER[:PASSWORD]@]HOST:PORT[,HOST:PORT…]/DATABASE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChLocation {
    /// `http://HOST:PORT` of every server named, first one first (queries go to it; with a
    /// cluster, tables are created on each).
    pub servers: Vec<String>,
    /// The database.
    pub database: String,
    /// User (`default` when neither the URL nor `CLICKHOUSE_USER` names one).
    pub user: String,
    /// Password (empty when none is given).
    pub password: String,
}

/// Why a `clickhouse://` location was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadChLocation {
    /// No `/DATABASE` after the servers.
    #[error("name the database: clickhouse://HOST:PORT/DATABASE")]
    NoDatabase,
    /// A database name with other characters than letters, digits and `_`.
    #[error("database name {0:?}: use letters, digits and _ only")]
    DatabaseName(String),
    /// An empty server or one with a path, query or space.
    #[error("server {0:?}: expected HOST:PORT")]
    Server(String),
}

impl ChLocation {
    /// Parse a `--db clickhouse://…` value (`None` when it is not one). The user and password
    /// come from the URL, else from `CLICKHOUSE_USER` / `CLICKHOUSE_PASSWORD`.
    pub fn parse(spec: &str) -> Option<std::result::Result<ChLocation, BadChLocation>> {
        let rest = spec.strip_prefix("clickhouse://")?;
        Some(Self::parse_rest(rest))
    }

    fn parse_rest(rest: &str) -> std::result::Result<ChLocation, BadChLocation> {
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((a, r)) => (Some(a), r),
            None => (None, rest),
        };
        let (hosts, database) = rest.split_once('/').ok_or(BadChLocation::NoDatabase)?;
        let database = database.trim_end_matches('/');
        if database.is_empty()
            || !database
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(BadChLocation::DatabaseName(database.to_string()));
        }
        let mut servers = Vec::new();
        for h in hosts.split(',') {
            if h.is_empty() || h.contains(['/', '?', '#', ' ']) {
                return Err(BadChLocation::Server(h.to_string()));
            }
            let h = if h.contains(':') && !h.ends_with(']') {
                h.to_string()
            } else {
                format!("{h}:8123")
            };
            servers.push(format!("http://{h}"));
        }
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let (user, password) = match auth.map(|a| a.split_once(':').unwrap_or((a, ""))) {
            Some((u, p)) => (u.to_string(), p.to_string()),
            None => (
                env("CLICKHOUSE_USER").unwrap_or_else(|| "default".into()),
                env("CLICKHOUSE_PASSWORD").unwrap_or_default(),
            ),
        };
        Ok(ChLocation {
            servers,
            database: database.to_string(),
            user,
            password,
        })
    }

    /// The location without the password, for messages.
    pub fn display(&self) -> String {
        format!("{}/{}", self.servers.join(","), self.database)
    }
}

/// A connection to one ClickHouse server's HTTP interface (pooled keep-alive connections).
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    server: String,
    user: String,
    password: String,
}

/// A string as a ClickHouse literal: quoted, with `\` and `'` escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

impl Client {
    /// A client of `server` (`http://HOST:PORT`).
    pub fn new(server: &str, loc: &ChLocation) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(600)))
            .max_idle_connections_per_host(8)
            .build()
            .into();
        Client {
            agent,
            server: server.to_string(),
            user: loc.user.clone(),
            password: loc.password.clone(),
        }
    }

    /// The server's `http://HOST:PORT`.
    pub fn server(&self) -> &str {
        &self.server
    }

    fn error(&self, detail: impl std::fmt::Display) -> StoreError {
        StoreError::ClickHouse {
            server: self.server.clone(),
            status: None,
            detail: detail.to_string(),
        }
    }

    /// POST `body` with `query` (URL parameter; may be empty) and the given settings; the
    /// answer's body on success, the server's message as an error otherwise.
    fn post(&self, query: &str, body: &[u8]) -> Result<Box<dyn Read + Send>> {
        let mut req = self
            .agent
            .post(&self.server)
            .header("X-ClickHouse-User", &self.user)
            .query("output_format_json_quote_64bit_integers", "0")
            .query("input_format_skip_unknown_fields", "0")
            // Inserts through `Distributed` tables reach the shards before the call returns.
            .query("insert_distributed_sync", "1")
            // Compiled queries name the keys of a page of rows as literals (~100 KB).
            .query("max_query_size", "16777216");
        if !self.password.is_empty() {
            req = req.header("X-ClickHouse-Key", &self.password);
        }
        if !query.is_empty() {
            req = req.query("query", query);
        }
        // A request's time limit (see `crate::deadline`): the server stops the query itself.
        let deadline = crate::deadline::current();
        if let Some(d) = deadline {
            if d.expired() {
                return Err(d.error());
            }
            let secs = d.remaining().as_secs_f64().ceil().max(1.0) as u64;
            req = req.query("max_execution_time", secs.to_string());
        }
        let timed_out = |e: StoreError| match deadline {
            Some(d) if d.expired() => d.error(),
            _ => e,
        };
        let resp = req.send(body).map_err(|e| match e {
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                self.error("connection refused (is the server running?)")
            }
            e => timed_out(self.error(e)),
        })?;
        let status = resp.status();
        let body = resp.into_body().into_with_config().limit(u64::MAX).reader();
        if !status.is_success() {
            let mut text = String::new();
            let _ = body.take(4096).read_to_string(&mut text);
            // Code 159 (TIMEOUT_EXCEEDED) once `max_execution_time` is reached.
            return Err(timed_out(StoreError::ClickHouse {
                server: self.server.clone(),
                status: Some(status.as_u16()),
                detail: text.trim().to_string(),
            }));
        }
        Ok(Box::new(body))
    }

    /// Run a statement that returns nothing (DDL, `ALTER`, `OPTIMIZE`).
    pub fn execute(&self, sql: &str) -> Result<()> {
        let mut r = self.post("", sql.as_bytes())?;
        std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Insert `JSONEachRow` lines into `table` (`database.table`).
    pub fn insert(&self, table: &str, rows: &[u8]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let q = format!("INSERT INTO {table} FORMAT JSONEachRow");
        let mut r = self.post(&q, rows)?;
        std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Run a `SELECT` and decode each row (`FORMAT JSONEachRow` is appended).
    pub fn select<T: DeserializeOwned>(&self, sql: &str) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.select_each(sql, |row| {
            out.push(row);
            Ok(())
        })?;
        Ok(out)
    }

    /// Run a `SELECT` and hand each decoded row to `f` as it arrives.
    pub fn select_each<T: DeserializeOwned>(
        &self,
        sql: &str,
        mut f: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        let body = format!("{sql}\nFORMAT JSONEachRow");
        let r = self.post("", body.as_bytes())?;
        let mut lines = BufReader::with_capacity(1 << 16, r);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = lines
                .read_until(b'\n', &mut line)
                .map_err(|e| self.error(e))?;
            if n == 0 {
                return Ok(());
            }
            if line.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let row: T = serde_json::from_slice(&line).map_err(|e| {
                self.error(format!(
                    "unexpected row {:?}: {e}",
                    String::from_utf8_lossy(&line[..line.len().min(200)])
                ))
            })?;
            f(row)?;
        }
    }

    /// Whether the server answers `/ping`.
    pub fn ping(&self) -> Result<()> {
        self.execute("SELECT 1")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_with_defaults_and_errors() {
        let l = ChLocation::parse("clickhouse://u:p@h1:9,h2/db")
            .unwrap()
            .unwrap();
        assert_eq!(l.servers, ["http://h1:9", "http://h2:8123"]);
        assert_eq!((l.database.as_str(), l.user.as_str()), ("db", "u"));
        assert_eq!(l.password, "p");
        assert!(ChLocation::parse("/tmp/x.db").is_none());
        assert!(ChLocation::parse("clickhouse://h1:9").unwrap().is_err());
        assert!(ChLocation::parse("clickhouse://h1:9/a-b").unwrap().is_err());
        assert!(!l.display().contains('p') || !l.display().contains("u:p"));
    }

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(quote(r"a'b\c"), r"'a\'b\\c'");
    }
}
