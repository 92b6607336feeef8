//! `all-backlinks` with v3's default grouping (`similar_links`) and no `order_by`, answered
//! without reading the target's whole list.
//!
//! Similar links share their referring domain, `url_to`, link type and anchor, so a group
//! never spans two target URLs, and the index lists live backlinks in key order (target URL,
//! then referring page): the groups of one target URL are complete once the next URL starts.
//! The live list is read in chunks; at the end of each target URL, that URL's lost links (the
//! `history` asks for) are read by exact URL and counted into the groups they belong to; groups
//! are filtered by `where` as they complete, and reading stops once `offset + limit` groups
//! passed. The answer is the one the whole-list path gives — same groups, counts, strongest
//! link and order — as long as the live groups fill the page: when the live list ends first,
//! `None` sends the request to that path (lost-only groups follow every live one there).

use super::*;
use std::collections::HashSet;

/// Most live rows read per statement: the first reads about a page's worth
/// (`offset + limit`, a quarter more, and 16), each next one twice the last.
const CHUNK: usize = 4_000;

/// What [`streamed`] found.
pub(super) enum Streamed {
    /// The page of groups (`offset`, `limit`).
    Page(Vec<J>),
    /// The live list ended in the first read, before the page was filled: every live item,
    /// in key order (the whole-list path goes on from them without reading them again).
    Whole(Vec<J>),
    /// The live list ended in a later read: the whole-list path answers.
    Past,
}

/// A live link read for grouping: its identity, `similar_links` key and strength from its row,
/// and its item with only the fields the answer needs.
struct Live {
    id: (String, String, String, String),
    key: String,
    strength: (f64, f64),
    item: J,
}

/// The page of groups (`offset`, `limit`), as far as the live list fills it. `fields`: every
/// field an item of the whole-list path has; `shown`: those the page's items need (the
/// selected ones and those `where` reads).
#[allow(clippy::too_many_arguments)]
pub(super) fn streamed(
    ctx: &ApiContext,
    target: &Target,
    history: History,
    fields: &[&str],
    shown: &[&str],
    where_: Option<&filter::Filter>,
    limit: usize,
    offset: usize,
) -> Result<Streamed, V3Error> {
    let want = offset.saturating_add(limit);
    let mut done: Vec<J> = Vec::new();
    let mut block: Vec<Live> = Vec::new();
    let mut read = 0usize;
    // A page's worth and a quarter more (the last target URL read is not complete yet).
    let mut chunk = want.saturating_add(want / 4).saturating_add(16).min(CHUNK);
    loop {
        let r = query::run(
            &ctx.store,
            Table::Backlinks,
            &QueryParams {
                select: Some(items::BACKLINK_COLUMNS.into()),
                limit: chunk,
                offset: read,
                ..QueryParams::new(target.clone())
            },
        )?;
        let cols = items::Columns::of(&r);
        let rows = cols.rows();
        if read == 0 && rows.len() < chunk {
            return Ok(Streamed::Whole(
                rows.iter()
                    .map(|row| items::backlink(&cols, row, false, fields))
                    .collect(),
            ));
        }
        read += rows.len();
        for row in rows {
            let (id, key, strength) = items::row_grouping(&cols, row);
            let next_url = block.first().is_some_and(|b| b.id.1 != id.1);
            if next_url {
                finish(
                    ctx,
                    std::mem::take(&mut block),
                    history,
                    fields,
                    where_,
                    &mut done,
                )?;
                if done.len() >= want {
                    return Ok(Streamed::Page(
                        done.into_iter().skip(offset).take(limit).collect(),
                    ));
                }
            }
            let item = items::backlink(&cols, row, false, shown);
            block.push(Live {
                id,
                key,
                strength,
                item,
            });
        }
        if rows.len() < chunk {
            // The live list ended: lost-only groups may belong on this page.
            return Ok(Streamed::Past);
        }
        chunk = (chunk * 2).min(CHUNK);
    }
}

/// Group one target URL's live links (the strongest of each group stands for it, as
/// `strongest_per` picks) with its lost ones (counted into the groups they belong to), and
/// keep the groups `where` passes.
fn finish(
    ctx: &ApiContext,
    block: Vec<Live>,
    history: History,
    fields: &[&str],
    where_: Option<&filter::Filter>,
    done: &mut Vec<J>,
) -> Result<(), V3Error> {
    let Some(url) = block.first().map(|l| l.id.1.clone()) else {
        return Ok(());
    };
    // Groups in the order their first link came: (index of the strongest, links).
    let mut order: Vec<&str> = Vec::new();
    let mut groups: std::collections::HashMap<&str, (usize, u64)> = Default::default();
    for (i, l) in block.iter().enumerate() {
        match groups.get_mut(l.key.as_str()) {
            Some((best, n)) => {
                *n += 1;
                if l.strength.partial_cmp(&block[*best].strength) == Some(Ordering::Greater) {
                    *best = i;
                }
            }
            None => {
                order.push(&l.key);
                groups.insert(&l.key, (i, 1));
            }
        }
    }
    if history != History::Live {
        let live_ids: HashSet<&(String, String, String, String)> =
            block.iter().map(|l| &l.id).collect();
        for lost in lost_of_url(ctx, &url, history, fields)? {
            if live_ids.contains(&items::identity(&lost)) {
                continue;
            }
            if let Some((_, n)) = groups.get_mut(similar_key(&lost).as_str()) {
                *n += 1;
            }
        }
    }
    for key in order {
        let (best, n) = groups[key];
        let mut item = block[best].item.clone();
        item["link_group_count"] = J::from(n);
        if where_.is_none_or(|f| f.test(&item)) {
            done.push(item);
        }
    }
    Ok(())
}

/// The key `similar_links` groups by.
pub(super) fn similar_key(i: &J) -> String {
    format!(
        "{}\0{}\0{}\0{}",
        i["root_name_source"].as_str().unwrap_or(""),
        i["url_to"].as_str().unwrap_or(""),
        i["link_type"].as_str().unwrap_or(""),
        i["anchor"].as_str().unwrap_or("")
    )
}

/// The lost links to exactly `url` the history asks for: the latest loss of each link, lost
/// on or after the `since` day.
fn lost_of_url(
    ctx: &ApiContext,
    url: &str,
    history: History,
    fields: &[&str],
) -> Result<Vec<J>, V3Error> {
    let target = Target::parse(url, Mode::Exact).map_err(|e| bad(e.to_string()))?;
    // Most target URLs lost no link: counting the URL's events tells (one indexed count, no
    // row read), cheaper than the lost rows with their pages' fields.
    let since = match history {
        History::Since(d) => d,
        _ => i64::MIN,
    };
    let (_, lost) = ctx
        .store
        .count_events(&target, since)
        .map_err(|e| V3Error::from(anyhow::Error::new(e)))?;
    if lost == 0 {
        return Ok(Vec::new());
    }
    let r = query::run(
        &ctx.store,
        Table::NewLost,
        &QueryParams {
            select: Some(items::LOST_COLUMNS.into()),
            where_: query::parse_clause(Some("type=lost"), "where")?,
            limit: MAX_LIMIT,
            ..QueryParams::new(target)
        },
    )?;
    Ok(latest_losses(&r, history, fields, |i| {
        i["url_to"].as_str() == Some(url)
    }))
}

/// The latest loss of each link among a `backlinks_new_lost` answer's rows (those `keep`
/// accepts), lost on or after the history's `since` day, in identity order.
pub(super) fn latest_losses(
    r: &query::QueryResult,
    history: History,
    fields: &[&str],
    keep: impl Fn(&J) -> bool,
) -> Vec<J> {
    let since = match history {
        History::Since(d) => time::date(d),
        _ => String::new(),
    };
    let mut latest: std::collections::HashMap<_, J> = std::collections::HashMap::new();
    let cols = items::Columns::of(r);
    for row in cols.rows() {
        let item = items::backlink(&cols, row, true, fields);
        let at = item["last_seen"].as_str().unwrap_or("").to_string();
        if !keep(&item) || at[..10.min(at.len())] < *since {
            continue;
        }
        let id = items::identity(&item);
        let newer = latest
            .get(&id)
            .is_none_or(|old| old["last_seen"].as_str().unwrap_or("") < at.as_str());
        if newer {
            latest.insert(id, item);
        }
    }
    let mut lost: Vec<J> = latest.into_values().collect();
    lost.sort_by_key(items::identity);
    lost
}
