//! Listing requests as the client builds them: resources, filters, columns, order, paging.
//! The filter grammar itself is the wire contract's ([`crate::wire::filter`]).

pub(crate) use crate::wire::filter::{format_conditions, nearest, Condition, Op, MAX_PAGE};

/// The listable resources and how each is addressed and paged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Cdrs,
    Calls,
    Leads,
    CampaignLeads,
    Campaigns,
    /// The tenant's users (beyond the guide; real integrations use it).
    Users,
    /// Comments on leads, listed per lead (beyond the guide).
    Comments,
}

impl Resource {
    pub fn path(self) -> &'static str {
        match self {
            Resource::Cdrs => "/api/cdrs",
            Resource::Calls => "/api/calls/",
            Resource::Leads => "/api/leads/",
            Resource::CampaignLeads => "/api/campaign-leads/",
            Resource::Campaigns => "/api/campaigns/",
            Resource::Users => "/api/users/",
            Resource::Comments => "/api/comments/",
        }
    }

    /// The key of the list in the answer's envelope.
    pub(crate) fn envelope(self) -> &'static str {
        match self {
            Resource::Cdrs => "cdrs",
            Resource::Calls => "calls",
            Resource::Leads => "leads",
            Resource::CampaignLeads => "campaignLeads",
            Resource::Campaigns => "campaigns",
            Resource::Users => "users",
            Resource::Comments => "comments",
        }
    }

    /// Lead, campaign-lead and campaign searches take their filters as path segments.
    fn path_filters(self) -> bool {
        matches!(
            self,
            Resource::Leads
                | Resource::CampaignLeads
                | Resource::Campaigns
                | Resource::Users
                | Resource::Comments
        )
    }
}

/// A condition the filter grammar cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadFilter(pub(crate) String);

/// A listing request: filters, columns, order and the rows wanted. Building one sends nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySpec {
    pub(crate) resource: Resource,
    /// Conditions by field, in the order the fields were first named.
    pub conditions: Vec<(String, Vec<Condition>)>,
    pub(crate) fields: Option<Vec<String>>,
    pub(crate) order: Option<(String, bool)>,
    /// The most rows to return in all; `None` streams every row.
    pub(crate) limit: Option<u64>,
    pub(crate) offset: u64,
    pub(crate) page_size: u64,
}

/// Characters that must be escaped inside one path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'?')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']');

impl QuerySpec {
    pub fn new(resource: Resource) -> QuerySpec {
        QuerySpec {
            resource,
            conditions: Vec::new(),
            fields: None,
            order: None,
            limit: None,
            offset: 0,
            page_size: MAX_PAGE,
        }
    }

    /// Adds a condition; several on one field must all hold.
    pub fn add_condition(&mut self, field: &str, op: Op, value: String) -> Result<(), BadFilter> {
        if field.is_empty() || field.contains(['/', '=', '&', '?', '#']) {
            return Err(BadFilter(format!("'{field}' is not a field name")));
        }
        if value.contains(['|', ';']) {
            return Err(BadFilter(format!(
                "the value for '{field}' contains ';' or '|', which the filter grammar cannot carry"
            )));
        }
        if self.resource.path_filters() && value.is_empty() {
            return Err(BadFilter(format!(
                "the value for '{field}' is empty; a path filter needs a value"
            )));
        }
        let condition = Condition { op, value };
        match self.conditions.iter_mut().find(|(f, _)| f == field) {
            Some((_, list)) => list.push(condition),
            None => self.conditions.push((field.to_string(), vec![condition])),
        }
        Ok(())
    }

    /// The rows a full page holds: the page size the dialer allows.
    pub(crate) fn page_len(&self) -> u64 {
        self.page_size.clamp(1, MAX_PAGE)
    }

    /// The rows of the page at `offset` (relative to the query's own offset): how many to ask
    /// for, or `None` when the limit is reached.
    pub(crate) fn page_rows(&self, fetched: u64) -> Option<u64> {
        let size = self.page_len();
        match self.limit {
            Some(limit) if fetched >= limit => None,
            Some(limit) => Some(size.min(limit - fetched)),
            None => Some(size),
        }
    }

    /// The path and query string of one page.
    pub fn page_path(&self, fetched: u64, rows: u64) -> String {
        let offset = self.offset + fetched;
        let mut pairs: Vec<(String, String)> = self
            .conditions
            .iter()
            .map(|(field, conditions)| (field.clone(), format_conditions(conditions)))
            .collect();
        if let Some(fields) = &self.fields {
            pairs.push(("fields".into(), fields.join(";")));
        }
        if let Some((field, descending)) = &self.order {
            let direction = if *descending { "desc" } else { "asc" };
            pairs.push(("order".into(), format!("{field};{direction}")));
        }
        match self.resource {
            Resource::Calls => {
                pairs.push(("limit".into(), rows.to_string()));
                pairs.push(("offset".into(), offset.to_string()));
            }
            _ => pairs.push(("limit".into(), format!("{rows};{offset}"))),
        }
        if self.resource.path_filters() {
            let mut path = self.resource.path().to_string();
            for (key, value) in pairs {
                path.push_str(&percent_encoding::utf8_percent_encode(&key, SEGMENT).to_string());
                path.push('/');
                path.push_str(&percent_encoding::utf8_percent_encode(&value, SEGMENT).to_string());
                path.push('/');
            }
            path
        } else {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            format!("{}?{query}", self.resource.path())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::filter::{parse_conditions, parse_limit, parse_order};

    #[test]
    fn conditions_round_trip() {
        let conditions = parse_conditions("5;>|9999;<").unwrap();
        assert_eq!(conditions.len(), 2);
        assert_eq!(conditions[0].op, Op::Gt);
        assert_eq!(conditions[1].value, "9999");
        assert_eq!(format_conditions(&conditions), "5;>|9999;<");
    }

    #[test]
    fn missing_operator_means_equal() {
        let conditions = parse_conditions("447700001234").unwrap();
        assert_eq!(conditions[0].op, Op::Eq);
        assert_eq!(conditions[0].value, "447700001234");
    }

    #[test]
    fn unknown_operator_is_named() {
        let err = parse_conditions("5;~").unwrap_err();
        assert!(err.to_string().contains("'~'"), "{err}");
    }

    #[test]
    fn limits_and_orders() {
        assert_eq!(parse_limit("100;900").unwrap(), (100, Some(900)));
        assert_eq!(parse_limit("7").unwrap(), (7, None));
        assert!(parse_limit("x;1").is_err());
        assert_eq!(parse_order("end_at;asc").unwrap(), ("end_at".into(), false));
        assert_eq!(parse_order("id;DESC").unwrap(), ("id".into(), true));
        assert!(parse_order("id;up").is_err());
    }

    #[test]
    fn pages_are_addressed_per_resource() {
        let mut q = QuerySpec::new(Resource::Cdrs);
        q.add_condition("start_at", Op::Gt, "2025-01-01 00:00:00".into())
            .unwrap();
        q.add_condition("q850", Op::Gt, "0".into()).unwrap();
        q.fields = Some(vec!["status".into(), "q850".into()]);
        q.order = Some(("end_at".into(), false));
        assert_eq!(
            q.page_path(0, 1000),
            "/api/cdrs?start_at=2025-01-01+00%3A00%3A00%3B%3E&q850=0%3B%3E&fields=status%3Bq850&order=end_at%3Basc&limit=1000%3B0"
        );
        let mut calls = QuerySpec::new(Resource::Calls);
        calls
            .add_condition("call_bill_duration", Op::Gt, "60".into())
            .unwrap();
        calls.offset = 5;
        assert_eq!(
            calls.page_path(1000, 1000),
            "/api/calls/?call_bill_duration=60%3B%3E&limit=1000&offset=1005"
        );
        let mut leads = QuerySpec::new(Resource::Leads);
        leads
            .add_condition("created_at", Op::Gt, "2023-12-21 13:15:11".into())
            .unwrap();
        assert_eq!(
            leads.page_path(0, 500),
            "/api/leads/created_at/2023-12-21%2013:15:11;%3E/limit/500;0/"
        );
        assert!(leads.add_condition("phone", Op::Eq, "1|2".into()).is_err());
    }

    #[test]
    fn limits_bound_the_pages() {
        let mut q = QuerySpec::new(Resource::Cdrs);
        q.limit = Some(2500);
        assert_eq!(q.page_rows(0), Some(1000));
        assert_eq!(q.page_rows(2000), Some(500));
        assert_eq!(q.page_rows(2500), None);
    }

    #[test]
    fn every_operator_holds_as_named() {
        use std::cmp::Ordering::*;
        assert!(Op::Ge.holds(Equal) && Op::Ge.holds(Greater) && !Op::Ge.holds(Less));
        assert!(Op::Le.holds(Equal) && Op::Le.holds(Less) && !Op::Le.holds(Greater));
        assert!(Op::Ne.holds(Less) && !Op::Ne.holds(Equal));
        assert!(Op::Gt.holds(Greater) && Op::Lt.holds(Less) && Op::Eq.holds(Equal));
    }
}
