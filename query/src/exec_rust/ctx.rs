//! `Ctx`: what one query reads again and again (referring pages, link sets, target statuses, domain ranks), cached and bounded, and the rows built from it.

use super::*;

/// Caches of referring pages, their link sets, target statuses and domain ranks during one
/// query (bounded: cleared when large).
pub(super) struct Ctx<'a> {
    pub(super) store: &'a Store,
    /// Visited pages per registrable domain (for `sitewide`), counted on first use.
    domain_pages: Option<HashMap<String, i64>>,
    /// Per target URL: referring pages with a live link to it, per registrable domain.
    linking: HashMap<String, HashMap<String, i64>>,
    pages: HashMap<String, Option<Rc<PageRecord>>>,
    domains: HashMap<String, (i64, i64)>,
    links: HashMap<String, Rc<HashMap<LinkId, LinkRecord>>>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Ctx {
            store,
            domain_pages: None,
            linking: HashMap::new(),
            pages: HashMap::new(),
            domains: HashMap::new(),
            links: HashMap::new(),
        }
    }

    /// Whether `from`'s domain links to `to` site-wide: from at least
    /// [`SITEWIDE_MIN_PAGES`](crate::catalogue::SITEWIDE_MIN_PAGES) of its pages and from more
    /// than half of its visited ones.
    pub(super) fn sitewide(&mut self, from: &str, to: &str) -> Result<bool> {
        let domain = registrable_domain(url_host(from)).to_string();
        if self.domain_pages.is_none() {
            let mut counts: HashMap<String, i64> = HashMap::new();
            for r in self.store.pages() {
                let (url, p) = r?;
                if p.last_ok_visit.is_some() && !p.dropped {
                    *counts
                        .entry(registrable_domain(url_host(&url)).to_string())
                        .or_default() += 1;
                }
            }
            self.domain_pages = Some(counts);
        }
        if !self.linking.contains_key(to) {
            let mut pages: HashMap<String, HashSet<String>> = HashMap::new();
            for r in self.store.backlinks(&Target::Exact(to.to_string())) {
                let (url_from, ..) = r?;
                pages
                    .entry(registrable_domain(url_host(&url_from)).to_string())
                    .or_default()
                    .insert(url_from);
            }
            let counts = pages
                .into_iter()
                .map(|(d, p)| (d, p.len() as i64))
                .collect();
            self.linking.insert(to.to_string(), counts);
        }
        let linking = self.linking[to].get(&domain).copied().unwrap_or(0);
        let visited = self
            .domain_pages
            .as_ref()
            .and_then(|m| m.get(&domain).copied())
            .unwrap_or(0);
        Ok(2 * linking > visited.max(2 * crate::catalogue::SITEWIDE_MIN_PAGES - 1))
    }

    /// The record of one link of `from` (default if missing).
    pub(super) fn link(&mut self, from: &str, id: &LinkId) -> Result<LinkRecord> {
        if self.store.clickhouse().is_some() {
            // One link at a time: the engine answers from what its scans fetched.
            return Ok(self.store.link(from, id)?.unwrap_or_default());
        }
        if !self.links.contains_key(from) {
            if self.links.len() > 20_000 {
                self.links.clear();
            }
            let set: HashMap<LinkId, LinkRecord> =
                self.store.forward_links(from)?.into_iter().collect();
            self.links.insert(from.to_string(), Rc::new(set));
        }
        Ok(self.links[from].get(id).cloned().unwrap_or_default())
    }

    pub(super) fn page(&mut self, url: &str) -> Result<Option<Rc<PageRecord>>> {
        if let Some(p) = self.pages.get(url) {
            return Ok(p.clone());
        }
        if self.pages.len() > 100_000 {
            self.pages.clear();
        }
        let p = self.store.page(url)?.map(Rc::new);
        self.pages.insert(url.to_string(), p.clone());
        Ok(p)
    }

    /// (domain_rating, ahrefs_top) of the registrable domain of `url`.
    pub(super) fn domain(&mut self, url: &str) -> Result<(i64, i64)> {
        let d = registrable_domain(url_host(url)).to_string();
        if let Some(v) = self.domains.get(&d) {
            return Ok(*v);
        }
        let v = self
            .store
            .domain(&d)?
            .map(|r| (r.domain_rating as i64, r.ahrefs_top as i64))
            .unwrap_or((0, 0));
        self.domains.insert(d, v);
        Ok(v)
    }

    /// A `backlinks` row; with a mask, columns not in it that cost a read or a copy are left
    /// empty.
    pub(super) fn backlink_row(
        &mut self,
        table: Table,
        from: &str,
        id: &LinkId,
        link: &LinkRecord,
        mask: Option<&HashSet<Col>>,
    ) -> Result<Vec<Value>> {
        let want = |c: Col| mask.is_none_or(|m| m.contains(&c));
        let (http_code, broken_at) = if want(Col::HttpCode) || want(Col::BrokenAt) {
            self.page(&id.url_to)?
                .map(|p| (p.last_status as i64, p.broken_since))
                .unwrap_or((0, None))
        } else {
            (0, None)
        };
        let (dr, top) = if want(Col::DomainRating) || want(Col::AhrefsTop) {
            self.domain(from)?
        } else {
            (0, 0)
        };
        let sitewide = want(Col::Sitewide) && self.sitewide(from, &id.url_to)?;
        let page = self.page(from)?.unwrap_or_default();
        let (last, prev) = link.visits(&page);
        let s = |c: Col, v: &str| {
            if want(c) {
                Value::Str(v.to_string())
            } else {
                Value::Int(0)
            }
        };
        Ok(row_of(table, |c| match c {
            Col::UrlFrom => s(c, from),
            Col::UrlTo => s(c, &id.url_to),
            Col::AhrefsRank => Value::Int(page.url_rating as i64),
            Col::DomainRating => Value::Int(dr),
            Col::AhrefsTop => Value::Int(top),
            Col::IpFrom => s(c, &page.ip),
            Col::LinksInternal => Value::Int(page.links_internal as i64),
            Col::LinksExternal => Value::Int(page.links_external as i64),
            Col::PageSize => Value::Int(page.page_size as i64),
            Col::Encoding => s(c, &page.encoding),
            Col::Language => s(c, &page.language),
            Col::Title => s(c, &page.title),
            Col::FirstSeen => Value::Time(Some(link.first_seen)),
            Col::LastVisited => Value::Time(Some(last)),
            Col::PrevVisited => Value::Time(prev),
            Col::Original => Value::Bool(link.original),
            Col::LinkType => s(c, id.link_type.as_str()),
            Col::Redirect => Value::Int(link.redirect as i64),
            Col::Nofollow => Value::Bool(link.nofollow),
            Col::Rendered => Value::Bool(link.rendered),
            Col::Alt => s(c, &link.alt),
            Col::Anchor => s(c, &id.anchor),
            Col::TextPre => s(c, &link.text_pre),
            Col::TextPost => s(c, &link.text_post),
            Col::HttpCode => Value::Int(http_code),
            Col::UrlFromFirstSeen => Value::Time(page.first_ok_visit),
            Col::BrokenAt => Value::Time(broken_at),
            Col::Sitewide => Value::Bool(sitewide),
            _ => Value::Int(0),
        }))
    }

    /// A `backlinks_new_lost` row; with a mask, the link record is read only if needed.
    pub(super) fn event_row(
        &mut self,
        ev: &EventRecord,
        mask: Option<&HashSet<Col>>,
    ) -> Result<Vec<Value>> {
        let want = |c: Col| mask.is_none_or(|m| m.contains(&c));
        let page = self.page(&ev.url_from)?.unwrap_or_default();
        let (dr, _) = self.domain(&ev.url_from)?;
        const FROM_LINK: [Col; 10] = [
            Col::FirstSeen,
            Col::LastVisited,
            Col::PrevVisited,
            Col::Original,
            Col::Redirect,
            Col::Nofollow,
            Col::Rendered,
            Col::Alt,
            Col::TextPre,
            Col::TextPost,
        ];
        let l = &if FROM_LINK.iter().any(|&c| want(c)) {
            self.link(&ev.url_from, &ev.link_id())?
        } else {
            LinkRecord::default()
        };
        let (last, prev) = l.visits(&page);
        Ok(row_of(Table::NewLost, |c| match c {
            Col::Date => Value::Date(crate::time::day(ev.time) * 86_400),
            Col::Type => Value::Str(ev.kind.as_str().to_string()),
            Col::AhrefsRank => Value::Int(page.url_rating as i64),
            Col::DomainRating => Value::Int(dr),
            Col::UrlFrom => Value::Str(ev.url_from.clone()),
            Col::UrlTo => Value::Str(ev.url_to.clone()),
            Col::LinksInternal => Value::Int(ev.links_internal as i64),
            Col::LinksExternal => Value::Int(ev.links_external as i64),
            Col::Encoding => Value::Str(page.encoding.clone()),
            Col::HttpCode => Value::Int(ev.http_code as i64),
            Col::Title => Value::Str(page.title.clone()),
            Col::Origin => Value::Str(ev.origin.as_str().to_string()),
            Col::FirstSeen => Value::Time(Some(l.first_seen)),
            Col::LastVisited => Value::Time(Some(last)),
            Col::PrevVisited => Value::Time(prev),
            Col::Original => Value::Bool(l.original),
            Col::LinkType => Value::Str(ev.link_type.as_str().to_string()),
            Col::Redirect => Value::Int(l.redirect as i64),
            Col::Nofollow => Value::Bool(l.nofollow),
            Col::Rendered => Value::Bool(l.rendered),
            Col::Alt => Value::Str(l.alt.clone()),
            Col::Anchor => Value::Str(ev.anchor.clone()),
            Col::TextPre => Value::Str(l.text_pre.clone()),
            Col::TextPost => Value::Str(l.text_post.clone()),
            Col::Reason => Value::Str(ev.reason.map(|r| r.as_str()).unwrap_or("").to_string()),
            Col::Recovered => Value::Bool(ev.recovered),
            _ => Value::Int(0),
        }))
    }
}
