//! Live links in key order or ordered by numbers, answered by one v2 `backlinks` query: the `where` terms and `order_by` that v2 reads exactly as v3 does, pushed into it.

use super::*;

/// A v3 condition on a field as a term of the v2 `backlinks` table's `where`, when the two
/// select exactly the same links: dofollow flags, whole-number comparisons of the integer
/// columns, and ASCII `isubstring` (v2's `substring` ignores ASCII case).
pub(super) fn push_term(
    field: &str,
    modifier: Option<filter::Modifier>,
    cond: &filter::Cond,
) -> Option<Term> {
    use filter::{Cmp, Cond};
    if modifier.is_some() {
        return None;
    }
    let op = |c: Cmp| match c {
        Cmp::Eq => Op::Eq,
        Cmp::Neq => Op::Ne,
        Cmp::Gt => Op::Gt,
        Cmp::Gte => Op::Ge,
        Cmp::Lt => Op::Lt,
        Cmp::Lte => Op::Le,
    };
    let flag = |v: &J| match v {
        J::Bool(b) => Some(*b),
        J::Number(n) if n.as_f64() == Some(1.0) => Some(true),
        J::Number(n) if n.as_f64() == Some(0.0) => Some(false),
        _ => None,
    };
    let cmp = |col: &str, o: Op, value: String| Term::Cmp {
        col: col.into(),
        op: o,
        value,
    };
    match (field, cond) {
        ("is_dofollow" | "is_nofollow", Cond::Cmp(c @ (Cmp::Eq | Cmp::Neq), v)) => {
            let mut nofollow = flag(v)?;
            if field == "is_dofollow" {
                nofollow = !nofollow;
            }
            if *c == Cmp::Neq {
                nofollow = !nofollow;
            }
            Some(cmp("nofollow", Op::Eq, nofollow.to_string()))
        }
        (
            "url_rating_source" | "links_internal" | "links_external" | "page_size",
            Cond::Cmp(c, J::Number(n)),
        ) => {
            let whole = n.as_i64().or_else(|| {
                let f = n.as_f64()?;
                (f.fract() == 0.0 && f.abs() < 1e15).then_some(f as i64)
            })?;
            let col = match field {
                "url_rating_source" => "ahrefs_rank",
                f => f,
            };
            Some(cmp(col, op(*c), whole.to_string()))
        }
        ("anchor" | "title" | "url_from" | "url_to" | "alt", Cond::Substring(needle, true))
            if needle.is_ascii() =>
        {
            Some(Term::Call {
                func: Func::Substring,
                col: field.into(),
                value: needle.clone(),
            })
        }
        _ => None,
    }
}

/// A `where` that is an `and` of pushable conditions, as v2 filter terms.
pub(super) fn push_filter(f: &filter::Filter, out: &mut Vec<Term>) -> Option<()> {
    match f {
        filter::Filter::And(parts) => parts.iter().try_for_each(|p| push_filter(p, out)),
        filter::Filter::Field {
            field,
            modifier,
            test: filter::FieldTest::Is(filter::CondTree::Leaf(c)),
        } => {
            out.push(push_term(field, *modifier, c)?);
            Some(())
        }
        filter::Filter::Field {
            field,
            modifier,
            test: filter::FieldTest::Is(filter::CondTree::And(cs)),
        } => cs.iter().try_for_each(|c| match c {
            filter::CondTree::Leaf(c) => {
                out.push(push_term(field, *modifier, c)?);
                Some(())
            }
            _ => None,
        }),
        _ => None,
    }
}

/// `order_by` on fields v2 orders the same way (numbers, and the link's first-seen time,
/// never null), as v2 `order_by` text.
pub(super) fn push_order(order: &[(&str, bool)]) -> Option<String> {
    let parts: Option<Vec<String>> = order
        .iter()
        .map(|(f, desc)| {
            let col = match *f {
                "domain_rating_source" => "domain_rating",
                "url_rating_source" => "ahrefs_rank",
                "links_internal" | "links_external" | "page_size" => f,
                "first_seen_link" => "first_seen",
                _ => return None,
            };
            Some(format!("{col}:{}", if *desc { "desc" } else { "asc" }))
        })
        .collect();
    parts.map(|p| p.join(","))
}

/// Live links, every one (`history=live`, `aggregation=all`), answered by one v2 query that
/// filters, sorts and pages in the database when the `where` and `order_by` say nothing v2
/// would read differently; `None` when they do (the whole list is then read).
pub(super) fn pushed_down(
    ctx: &ApiContext,
    target: &Target,
    select: &[&str],
    where_: Option<&filter::Filter>,
    order: &[(&str, bool)],
    limit: usize,
    offset: usize,
) -> Result<Option<Vec<J>>, V3Error> {
    let mut terms = Vec::new();
    if let Some(f) = where_ {
        if push_filter(f, &mut terms).is_none() {
            return Ok(None);
        }
    }
    let Some(order_by) = push_order(order) else {
        return Ok(None);
    };
    let r = query::run(
        &ctx.store,
        Table::Backlinks,
        &QueryParams {
            select: Some(items::BACKLINK_COLUMNS.into()),
            where_: QueryFilter { terms },
            order_by: Some(order_by).filter(|o| !o.is_empty()),
            limit,
            offset,
            ..QueryParams::new(target.clone())
        },
    )?;
    let cols = items::Columns::of(&r);
    Ok(Some(
        cols.rows()
            .iter()
            .map(|row| items::backlink(&cols, row, false, select))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pushed(w: &str) -> Option<String> {
        let f = filter::parse(w, items::BACKLINK_FIELDS).unwrap();
        let mut terms = Vec::new();
        push_filter(&f, &mut terms)?;
        Some(QueryFilter { terms }.to_string())
    }

    #[test]
    fn filters_v2_reads_the_same_way_go_into_the_query() {
        assert_eq!(
            pushed(r#"{"and":[{"field":"is_dofollow","is":["eq",1]},{"field":"url_rating_source","is":["gte",30.0]},{"field":"anchor","is":["isubstring","seo"]}]}"#).as_deref(),
            Some("nofollow=false,ahrefs_rank>=30,substring(anchor,seo)")
        );
        assert_eq!(
            pushed(r#"{"field":"is_nofollow","is":["neq",true]}"#).as_deref(),
            Some("nofollow=false")
        );
        assert_eq!(
            pushed(r#"{"field":"links_internal","is":{"and":[["gte",1],["lt",1000]]}}"#).as_deref(),
            Some("links_internal>=1,links_internal<1000")
        );
        // Case-sensitive tests, fractions, or/not and fields v2 lacks read the whole list.
        for w in [
            r#"{"field":"anchor","is":["substring","SEO"]}"#,
            r#"{"field":"anchor","is":["eq","SEO"]}"#,
            r#"{"field":"url_rating_source","is":["gte",29.5]}"#,
            r#"{"or":[{"field":"is_dofollow","is":["eq",true]}]}"#,
            r#"{"not":{"field":"is_dofollow","is":["eq",true]}}"#,
            r#"{"field":"traffic","is":"is_null"}"#,
            r#"{"field":"anchor","modifier":"lowercase","is":["isubstring","seo"]}"#,
        ] {
            assert_eq!(pushed(w), None, "{w}");
        }
        assert_eq!(
            push_order(&[("domain_rating_source", true), ("first_seen_link", false)]).as_deref(),
            Some("domain_rating:desc,first_seen:asc")
        );
        assert_eq!(push_order(&[("anchor", false)]), None);
    }
}
