//! API tokens: 40 random characters, stored as SHA-256, each with a row quota.

use linkdiff_store::{Store, TokenRecord, WriteBatch};
use sha2::{Digest, Sha256};

/// Characters of a token.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Token length.
pub const TOKEN_LEN: usize = 40;

/// SHA-256 hex of a token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Create a token named `name` with `rows` rows; returns the token (shown once).
pub fn create(store: &Store, name: &str, rows: u64) -> anyhow::Result<String> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
    {
        anyhow::bail!(
            "token name '{name}' must be 1–64 characters of letters, digits, '-', '_', '.' or '@'"
        );
    }
    if store.token(name)?.is_some() {
        anyhow::bail!("a token named '{name}' exists already; revoke it first");
    }
    let token: String = (0..TOKEN_LEN)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect();
    let mut w = WriteBatch::new();
    w.put_token(
        name,
        &TokenRecord {
            hash: hash(&token),
            rows_limit: rows,
            centirows_left: rows.saturating_mul(100),
            created: chrono::Utc::now().timestamp(),
        },
    );
    store.apply(w)?;
    store.flush()?;
    Ok(token)
}

/// The name and record of the token with this value.
pub fn find(store: &Store, token: &str) -> anyhow::Result<Option<(String, TokenRecord)>> {
    let h = hash(token);
    Ok(store.tokens()?.into_iter().find(|(_, r)| r.hash == h))
}

/// Check a name + token pair (DataForSEO Basic auth).
pub fn check_pair(store: &Store, name: &str, token: &str) -> anyhow::Result<Option<TokenRecord>> {
    Ok(store.token(name)?.filter(|r| r.hash == hash(token)))
}

/// Spend `centirows` from token `name`; `Err` with the rows left when the quota is too small
/// (or the token was revoked meanwhile). One atomic read-check-write in the store, so a
/// `token create`/`revoke` or another server on the same database never loses a count.
pub fn spend(store: &Store, name: &str, centirows: u64) -> anyhow::Result<Result<u64, u64>> {
    Ok(store.spend_token(name, centirows)?.unwrap_or(Err(0)))
}

/// Hundredths of a row as text: `140` → `1.4`.
pub fn rows_text(centirows: u64) -> String {
    let whole = centirows / 100;
    let frac = centirows % 100;
    if frac == 0 {
        whole.to_string()
    } else if frac.is_multiple_of(10) {
        format!("{whole}.{}", frac / 10)
    } else {
        format!("{whole}.{frac:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_find_spend() {
        let s = Store::memory();
        let t = create(&s, "ci", 2).unwrap();
        assert_eq!(t.len(), 40);
        assert_eq!(find(&s, &t).unwrap().unwrap().0, "ci");
        assert!(find(&s, "nope").unwrap().is_none());
        assert!(create(&s, "ci", 1).is_err());
        assert!(create(&s, "bad name", 1).is_err());
        assert_eq!(spend(&s, "ci", 120).unwrap(), Ok(80));
        assert_eq!(spend(&s, "ci", 100).unwrap(), Err(80));
        assert_eq!(rows_text(140), "1.4");
        assert_eq!(rows_text(5), "0.05");
        assert_eq!(rows_text(300), "3");
    }
}
