//! Tokens (spent by one insert of the new count), counts and sizes, `OPTIMIZE`.

use super::*;

impl ChStore {
    /// Every token.
    pub fn tokens(&self) -> Result<Vec<(String, TokenRecord)>> {
        let rows: Vec<TokenRow> = self.client.select(&format!(
            "SELECT name, hash, rows_limit, centirows_left, created, deleted, ver
             FROM {} FINAL ORDER BY name",
            self.table("tokens")
        ))?;
        Ok(rows
            .into_iter()
            .filter(|t| t.deleted == 0)
            .map(TokenRow::into_record)
            .collect())
    }

    /// Spend from a token: read, check, write under this process's lock. ClickHouse has no
    /// transactions, so two servers spending one token at the same instant can both succeed
    /// (documented; one server per token avoids it).
    pub fn spend_token(&self, name: &str, centirows: u64) -> Result<Option<Result<u64, u64>>> {
        let _g = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let Some((_, mut rec)) = self.tokens()?.into_iter().find(|(n, _)| n == name) else {
            return Ok(None);
        };
        if rec.centirows_left < centirows {
            return Ok(Some(Err(rec.centirows_left)));
        }
        rec.centirows_left -= centirows;
        let mut rows = Rows::default();
        let ver = self.versions(1);
        rows.push(
            "tokens",
            &TokenRow {
                ver,
                ..TokenRow::new(name, &rec)
            },
        );
        self.insert(&rows)?;
        Ok(Some(Ok(rec.centirows_left)))
    }

    /// `[pages, live links, live external backlinks, events, runs]`.
    pub fn counts(&self) -> Result<[u64; 5]> {
        #[derive(serde::Deserialize)]
        struct C {
            n: u64,
        }
        let one = |sql: String| -> Result<u64> {
            Ok(self.client.select::<C>(&sql)?.first().map_or(0, |c| c.n))
        };
        let t = |n| self.table(n);
        Ok([
            one(format!("SELECT count() AS n FROM {} FINAL", t("pages")))?,
            one(format!(
                "SELECT sum(length(targets)) AS n FROM (SELECT targets, ver FROM {} FINAL)",
                t("linksets")
            ))?,
            one(format!(
                "SELECT count() AS n FROM (SELECT ver FROM {} FINAL WHERE live = 1 AND external = 1)",
                t("links")
            ))?,
            one(format!("SELECT count() AS n FROM {} FINAL", t("events")))?,
            one(format!("SELECT count() AS n FROM {} FINAL", t("runs")))?,
        ])
    }

    /// Link records (live and lost), the unit of the bytes-per-link figure.
    pub fn link_records(&self) -> Result<u64> {
        #[derive(serde::Deserialize)]
        struct C {
            n: u64,
        }
        let sql = format!(
            "SELECT count() AS n FROM (SELECT ver FROM {} FINAL)",
            self.table("links")
        );
        Ok(self.client.select::<C>(&sql)?.first().map_or(0, |c| c.n))
    }

    /// Bytes on disk of the database's active parts on every server named.
    pub fn size_on_disk(&self) -> Result<u64> {
        #[derive(serde::Deserialize)]
        struct C {
            n: u64,
        }
        let mut total = 0;
        for s in &self.loc.servers {
            let c = Client::new(s, &self.loc);
            let rows: Vec<C> = c.select(&format!(
                "SELECT sum(bytes) AS n FROM system.parts WHERE database = {} AND active",
                quote(&self.loc.database)
            ))?;
            total += rows.first().map_or(0, |c| c.n);
        }
        Ok(total)
    }

    /// Merge every table's parts now (`OPTIMIZE … FINAL`), so old row versions leave the disk
    /// (ClickHouse does this in the background anyway; benchmarks measure after it).
    pub fn optimize(&self) -> Result<()> {
        let cluster = self.remote_meta("clickhouse_cluster")?;
        for s in &self.loc.servers {
            let c = Client::new(s, &self.loc);
            for (name, ..) in schema::TABLES {
                let t = match cluster {
                    Some(_) => format!("{name}_local"),
                    None => name.to_string(),
                };
                c.execute(&format!("OPTIMIZE TABLE {}.{t} FINAL", self.loc.database))?;
            }
        }
        Ok(())
    }
}
