//! Readable views over the SQLite schema, for the tools users already have (sqlite3,
//! Datasette, pandas): URLs as text, times as ISO 8601 text (`2026-01-12T00:00:00Z`), codes
//! as words. They only read the tables, in plain SQL (none of linkdiff's own SQL functions),
//! so any SQLite build can use them, and they cost nothing until queried.
//!
//! Times are UTC. Each column means what the Ahrefs v2 table of the same name answers (README, "Your index in
//! SQL"); `tests/it/sql_views.rs` checks them against the v2 answers. A schema version that
//! changes a view drops and recreates them all with [`VIEWS`].

/// SQL of an integer Unix time `t` as ISO 8601 text (NULL stays NULL).
macro_rules! iso {
    ($t:expr) => {
        concat!("strftime('%Y-%m-%dT%H:%M:%SZ', ", $t, ", 'unixepoch')")
    };
}

/// The stored lost-reason codes (`LostReason::code`) by their v3 names.
macro_rules! reason {
    ($r:expr) => {
        concat!(
            "(CASE ",
            $r,
            " WHEN 0 THEN 'removedfromhtml' WHEN 1 THEN 'notfound' WHEN 2 THEN 'pageredirected'",
            " WHEN 3 THEN 'pageerror' WHEN 4 THEN 'noindex' WHEN 5 THEN 'notcanonical'",
            " WHEN 6 THEN 'robotsblocked' WHEN 7 THEN 'lostredirect' END)"
        )
    };
}

/// The text of URL row `u` on host row `h` (as `schema::url_expr`).
macro_rules! url {
    ($u:literal, $h:literal) => {
        concat!(
            "(CASE WHEN typeof(",
            $u,
            ".scheme) = 'text' THEN ",
            $u,
            ".scheme ELSE (CASE ",
            $u,
            ".scheme WHEN 1 THEN 'https://' ELSE 'http://' END) || ",
            $h,
            ".host || ",
            $u,
            ".tail END)"
        )
    };
}

/// When a link was last seen: for a live link, its page's last successful visit (a visit
/// that found the page unchanged does not rewrite the link's row); as v2's `last_visited`.
macro_rules! last_seen {
    () => {
        "(CASE WHEN b.live = 1 THEN coalesce(p.last_ok_visit, b.streak_start) ELSE b.last_seen END)"
    };
}

/// The latest `lost` event of link row `b` (its events share the target's key range and are
/// ordered by time, so the newest is found first).
macro_rules! last_lost {
    ($col:expr) => {
        concat!(
            "(SELECT ",
            $col,
            " FROM events e WHERE e.target = b.target AND e.page = b.page",
            " AND e.link_type = b.link_type AND e.anchor = b.anchor AND e.n = b.n AND e.kind = 1",
            " ORDER BY e.time DESC LIMIT 1)"
        )
    };
}

/// Drops and creates every view (in a migration's or the new database's transaction), with
/// the index on host names their `host_to = '…'` filters use. Joins start from the target's
/// host (`CROSS JOIN` fixes the order), so a view filtered on `host_to` reads only that host's
/// rows (the grouped views too: SQLite pushes a filter on a `GROUP BY` column into them).
pub const VIEWS: &str = concat!(
    "CREATE INDEX IF NOT EXISTS hosts_by_host ON hosts(host);
DROP VIEW IF EXISTS v_backlinks; DROP VIEW IF EXISTS v_events;
DROP VIEW IF EXISTS v_anchors; DROP VIEW IF EXISTS v_refdomains; DROP VIEW IF EXISTS v_pages;
CREATE VIEW v_backlinks AS
SELECT p.url AS url_from, ",
    url!("u", "h"),
    " AS url_to, lt.name AS link_type,
  b.anchor AS anchor, b.alt AS alt, b.text_pre AS text_pre, b.text_post AS text_post,
  b.nofollow AS nofollow, b.redirect AS redirect, b.rendered AS rendered, ",
    iso!("b.first_seen"),
    " AS first_seen, ",
    iso!(last_seen!()),
    " AS last_seen,
  CASE WHEN b.live = 1 THEN NULL ELSE ",
    iso!(concat!("coalesce(", last_lost!("e.time"), ", b.last_seen)")),
    " END AS lost_at,
  CASE WHEN b.live = 1 THEN NULL ELSE ",
    reason!(last_lost!("e.reason")),
    " END AS lost_reason,
  ph.domain AS domain_from, ph.domain_rating AS domain_rating_from,
  p.url_rating AS url_rating_from, h.host AS host_to, h.domain AS domain_to
FROM hosts h CROSS JOIN urls u ON u.host_id = h.id CROSS JOIN backlinks b ON b.target = u.id
JOIN pages p ON p.id = b.page JOIN hosts ph ON ph.id = p.host_id
JOIN link_types lt ON lt.code = b.link_type;
CREATE VIEW v_events AS
SELECT date(e.time, 'unixepoch') AS date, ",
    iso!("e.time"),
    " AS time,
  CASE e.kind WHEN 0 THEN 'new' ELSE 'lost' END AS type,
  CASE e.origin WHEN 0 THEN 'fresh' WHEN 1 THEN 'recrawl' ELSE 'drop' END AS origin,
  ",
    reason!("e.reason"),
    " AS reason, e.recovered AS recovered, p.url AS url_from, ",
    url!("u", "h"),
    " AS url_to, lt.name AS link_type, e.anchor AS anchor, e.http_code AS http_code,
  ph.domain AS domain_from, h.host AS host_to, h.domain AS domain_to
FROM hosts h CROSS JOIN urls u ON u.host_id = h.id CROSS JOIN events e ON e.target = u.id
JOIN pages p ON p.id = e.page JOIN hosts ph ON ph.id = p.host_id
JOIN link_types lt ON lt.code = e.link_type;
CREATE VIEW v_anchors AS
SELECT h.host AS host_to, b.anchor AS anchor, count(*) AS backlinks,
  count(DISTINCT b.page) AS refpages, count(DISTINCT ph.domain) AS refdomains, ",
    iso!("min(b.first_seen)"),
    " AS first_seen, ",
    iso!(concat!("max(", last_seen!(), ")")),
    " AS last_seen
FROM hosts h CROSS JOIN urls u ON u.host_id = h.id CROSS JOIN backlinks b ON b.target = u.id
JOIN pages p ON p.id = b.page JOIN hosts ph ON ph.id = p.host_id
WHERE b.live = 1
GROUP BY h.host, b.anchor;
CREATE VIEW v_refdomains AS
SELECT h.host AS host_to, ph.domain AS domain_from, count(*) AS backlinks,
  sum(b.nofollow = 0) AS dofollow, count(DISTINCT b.page) AS refpages, ",
    iso!("min(b.first_seen)"),
    " AS first_seen, ",
    iso!(concat!("max(", last_seen!(), ")")),
    " AS last_seen, max(ph.domain_rating) AS domain_rating
FROM hosts h CROSS JOIN urls u ON u.host_id = h.id CROSS JOIN backlinks b ON b.target = u.id
JOIN pages p ON p.id = b.page JOIN hosts ph ON ph.id = p.host_id
WHERE b.live = 1
GROUP BY h.host, ph.domain;
CREATE VIEW v_pages AS
SELECT p.url AS url, h.host AS host, h.domain AS domain, p.last_status AS http_code, ",
    iso!("p.first_visit"),
    " AS first_seen, ",
    iso!("p.last_visit"),
    " AS last_visited,
  p.title AS title, p.links_internal AS links_internal, p.links_external AS links_external,
  p.url_rating AS url_rating
FROM pages p JOIN hosts h ON h.id = p.host_id
WHERE p.last_visit IS NOT NULL;
"
);

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    #[test]
    fn the_views_are_valid_sql_over_the_schema_and_can_be_recreated() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(super::super::schema::DDL).unwrap();
        c.execute_batch(super::VIEWS).unwrap();
        c.execute_batch(super::VIEWS).unwrap();
        for v in [
            "v_backlinks",
            "v_events",
            "v_anchors",
            "v_refdomains",
            "v_pages",
        ] {
            let n: i64 = c
                .query_row(&format!("SELECT count(*) FROM {v}"), [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 0, "{v}");
        }
    }
}
