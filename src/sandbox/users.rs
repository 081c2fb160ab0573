//! The tenant's users and the comments they leave on leads, both derived from ids (nothing to
//! store): user 1 is the dialer itself ("System", the caller of unanswered predictive calls),
//! users 101..=124 are agents, each at one desk. About one lead in seven has comments.

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use crate::sandbox::listing::FieldValue;

/// The dialer's own user: the caller of calls no agent took.
pub(crate) const SYSTEM_USER_ID: i64 = 1;
/// Agents' user ids.
pub(crate) const AGENT_IDS: std::ops::RangeInclusive<i64> = 101..=124;

pub(crate) const USER_FIELDS: [&str; 6] = [
    "id",
    "username",
    "first_name",
    "last_name",
    "is_active",
    "desks",
];

pub(crate) const COMMENT_FIELDS: [&str; 5] =
    ["id", "lead_id", "body", "creator_user_id", "created_at"];

const FIRST_NAMES: [&str; 12] = [
    "Dana", "Omar", "Grace", "Luis", "Mei", "Tomas", "Amara", "Jonas", "Priya", "Karl", "Zoe",
    "Felix",
];
const LAST_NAMES: [&str; 8] = [
    "Cohen", "Nguyen", "Okafor", "Berg", "Santos", "Novak", "Reyes", "Walsh",
];

/// One user of the tenant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct User {
    pub(crate) id: i64,
    pub(crate) first_name: &'static str,
    pub(crate) last_name: &'static str,
}

impl User {
    pub(crate) fn by_id(id: i64) -> Option<User> {
        if id == SYSTEM_USER_ID {
            return Some(User {
                id,
                first_name: "System",
                last_name: "",
            });
        }
        AGENT_IDS.contains(&id).then(|| {
            let n = (id - AGENT_IDS.start()) as usize;
            User {
                id,
                first_name: FIRST_NAMES[n % FIRST_NAMES.len()],
                last_name: LAST_NAMES[(n * 3 + n / 8) % LAST_NAMES.len()],
            }
        })
    }

    pub(crate) fn all() -> Vec<User> {
        std::iter::once(SYSTEM_USER_ID)
            .chain(AGENT_IDS)
            .filter_map(User::by_id)
            .collect()
    }

    /// The name CDRs show as `caller_user`.
    pub(crate) fn display_name(&self) -> Cow<'static, str> {
        if self.last_name.is_empty() {
            Cow::Borrowed(self.first_name)
        } else {
            Cow::Owned(format!("{} {}", self.first_name, self.last_name))
        }
    }

    pub(crate) fn username(&self) -> String {
        if self.id == SYSTEM_USER_ID {
            "system".to_string()
        } else {
            format!("agent{}", self.id)
        }
    }

    /// The last agent has left: inactive.
    pub(crate) fn is_active(&self) -> bool {
        self.id != *AGENT_IDS.end()
    }

    /// Desk id -> desk name; agents sit at one desk each, the system at none.
    pub(crate) fn desks(&self) -> Map<String, Value> {
        let mut desks = Map::new();
        if self.id != SYSTEM_USER_ID {
            let desk = self.id - AGENT_IDS.start() + 1;
            desks.insert((200 + desk).to_string(), format!("Desk {desk}").into());
        }
        desks
    }

    pub(crate) fn field_value(&self, name: &str) -> FieldValue<'static> {
        match name {
            "id" => FieldValue::Int(self.id),
            "username" => FieldValue::Text(Cow::Owned(self.username())),
            "first_name" => FieldValue::Text(Cow::Borrowed(self.first_name)),
            "last_name" => FieldValue::Text(Cow::Borrowed(self.last_name)),
            "is_active" => FieldValue::Int(self.is_active().into()),
            _ => FieldValue::Null,
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "username": self.username(),
            "first_name": self.first_name,
            "last_name": self.last_name,
            "is_active": if self.is_active() { "1" } else { "0" },
            "desks": self.desks(),
        })
    }
}

const COMMENT_BODIES: [&str; 6] = [
    "Asked to be called back after 6 pm.",
    "Interested, wants the brochure by e-mail.",
    "Wrong person answered; number may be shared.",
    "Prefers WhatsApp.",
    "Said they already have a provider.",
    "Call back next week.",
];

/// One comment on a lead.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comment {
    pub(crate) id: i64,
    pub(crate) lead_id: i64,
    pub(crate) body: &'static str,
    pub(crate) creator_user_id: i64,
    pub(crate) created_at: i64,
}

impl Comment {
    /// The comments of a lead created at `lead_created_at`, oldest first: one or two for
    /// every seventh lead and a `featured` one (the guide's lead 49969), none for the others.
    pub(crate) fn of_lead(lead_id: i64, lead_created_at: i64, featured: bool) -> Vec<Comment> {
        let has_comments = lead_id % 7 == 0 || featured;
        let count = if has_comments { 1 + lead_id % 2 } else { 0 };
        let agents = AGENT_IDS.end() - AGENT_IDS.start() + 1;
        (0..count)
            .map(|n| Comment {
                id: lead_id * 10 + n + 1,
                lead_id,
                body: COMMENT_BODIES[((lead_id + n) % COMMENT_BODIES.len() as i64) as usize],
                creator_user_id: AGENT_IDS.start() + (lead_id + n * 5) % agents,
                created_at: lead_created_at + 86_400 * (n + 1) + 3_600 * (lead_id % 9),
            })
            .collect()
    }

    pub(crate) fn field_value(&self, name: &str) -> FieldValue<'static> {
        match name {
            "id" => FieldValue::Int(self.id),
            "lead_id" => FieldValue::Int(self.lead_id),
            "body" => FieldValue::Text(Cow::Borrowed(self.body)),
            "creator_user_id" => FieldValue::Int(self.creator_user_id),
            "created_at" => FieldValue::Time(self.created_at),
            _ => FieldValue::Null,
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "lead_id": self.lead_id.to_string(),
            "body": self.body,
            "creator_user_id": self.creator_user_id.to_string(),
            "created_at": crate::time::format_time(self.created_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_the_system_and_agents() {
        let users = User::all();
        assert_eq!(users.len(), 25);
        assert_eq!(users[0].display_name(), "System");
        assert!(users.iter().skip(1).all(|u| u.desks().len() == 1));
        assert_eq!(User::by_id(50), None);
    }

    #[test]
    fn comments_follow_the_lead() {
        assert!(Comment::of_lead(8, 0, false).is_empty());
        let comments = Comment::of_lead(7, 1000, false);
        assert_eq!(comments.len(), 2);
        assert!(comments
            .iter()
            .all(|c| c.lead_id == 7 && c.created_at > 1000));
        assert!(AGENT_IDS.contains(&comments[0].creator_user_id));
    }
}
