//! Counts of what changed in a scope: new and lost backlinks, referring hosts and referring
//! (registrable) domains. DataForSEO's bulk and time-series endpoints answer these.

use std::ops::AddAssign;

/// How many appeared and how many were lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    /// Appeared (new).
    pub new: u64,
    /// Lost.
    pub lost: u64,
}

impl Changes {
    /// One more new (`is_new`) or lost.
    pub fn count(&mut self, is_new: bool) {
        if is_new {
            self.new += 1;
        } else {
            self.lost += 1;
        }
    }
}

impl AddAssign for Changes {
    fn add_assign(&mut self, o: Changes) {
        self.new += o.new;
        self.lost += o.lost;
    }
}

/// Referring hosts and referring registrable domains gained and lost, by the
/// `refdomains_new_lost` rule (DataForSEO's referring domains and main domains).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReferringChanges {
    /// Referring hosts (`blog.example.com`).
    pub hosts: Changes,
    /// Referring registrable domains (`example.com`).
    pub domains: Changes,
}

impl ReferringChanges {
    /// The counts of hosts (`by_host`) or of domains.
    pub fn of(&mut self, by_host: bool) -> &mut Changes {
        if by_host {
            &mut self.hosts
        } else {
            &mut self.domains
        }
    }
}

/// What changed in a scope in one period (a day, or a sum of days).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeriodChanges {
    /// Backlinks (events).
    pub backlinks: Changes,
    /// Referring hosts and domains.
    pub referring: ReferringChanges,
}

impl AddAssign for PeriodChanges {
    fn add_assign(&mut self, o: PeriodChanges) {
        self.backlinks += o.backlinks;
        self.referring.hosts += o.referring.hosts;
        self.referring.domains += o.referring.domains;
    }
}
