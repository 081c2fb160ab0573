//! The sandbox's deterministic dataset: the same seed gives the same campaigns, leads, campaign
//! leads, CDRs and calls.
//!
//! Fixed points the vendor guide's examples rely on: campaigns 12, 13, 14 and 15 (so a clone
//! gets id 16), campaign 12 with status 69 and the same status names as 13 (14 lacks some),
//! leads 1, 2, 3 and 49969, campaign lead 78057 (lead 49969 in campaign 12), lead 3 in
//! campaigns 12 and 13, and call 45475 (CDR 5475) answered with a recording — present whenever
//! there are at least 5,475 CDRs. CDRs are one per call, in id order by start time, over
//! 2024-09-01 .. 2025-03-31; the last few are still ongoing (`q850` 0, no `end_at`).

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::sandbox::listing::{format_time, parse_time, FieldValue};
use crate::sandbox::store::{Campaign, CampaignLead, Lead, Status, Store, LEAD_FIELDS};

/// Call ids are CDR ids plus this offset, so that the guide's call 45475 exists.
pub(crate) const CALL_ID_OFFSET: i64 = 40_000;
pub(crate) const GUIDE_LEAD_ID: i64 = 49_969;
pub(crate) const GUIDE_CAMPAIGN_LEAD_ID: i64 = 78_057;
pub(crate) const GUIDE_CALL_ID: i64 = 45_475;

pub(crate) const DEFAULT_LEADS: usize = 5_000;
pub(crate) const DEFAULT_CDRS: usize = 20_000;

/// The tenant's statuses: ids are tenant-wide and small, as on real tenants (1 Busy,
/// 2 Default Status, 11 No Answer); 69 is the guide's example. Each campaign uses a subset, in
/// this order (its first status is where new campaign leads start).
pub(crate) const STATUSES: [(i64, &str); 13] = [
    (10, "New"),
    (11, "No Answer"),
    (1, "Busy"),
    (12, "Voicemail"),
    (13, "Callback"),
    (14, "Interested"),
    (15, "Not Interested"),
    (16, "Sale"),
    (17, "Wrong Number"),
    (69, "Do Not Call"),
    (2, "Default Status"),
    (18, "Fax"),
    (20, "Appointment"),
];

/// How often a generated campaign lead has each status of [`STATUSES`] (same order).
const STATUS_WEIGHTS: [u32; 13] = [30, 20, 12, 10, 6, 5, 6, 3, 4, 4, 2, 1, 0];

/// Hangup causes: name, Q.850 code, relative weight. The first is the answered cause.
pub(crate) const HANGUP_CAUSES: [(&str, i64, u32); 9] = [
    ("NORMAL_CLEARING", 16, 38),
    ("NO_ANSWER", 19, 25),
    ("USER_BUSY", 17, 14),
    ("NO_USER_RESPONSE", 18, 6),
    ("CALL_REJECTED", 21, 5),
    ("UNALLOCATED_NUMBER", 1, 4),
    ("NORMAL_TEMPORARY_FAILURE", 41, 3),
    ("ORIGINATOR_CANCEL", 487, 3),
    ("RECOVERY_ON_TIMER_EXPIRE", 102, 2),
];
/// Statuses a campaign lead is not dialled from (and recycling leaves alone).
pub(crate) const FINAL_STATUSES: [&str; 3] = ["Sale", "Do Not Call", "Wrong Number"];
/// Statuses an answered call may leave, with their weights; a campaign without one draws
/// among the others.
const ANSWERED_STATUSES: [(&str, u32); 6] = [
    ("Interested", 3),
    ("Not Interested", 4),
    ("Callback", 3),
    ("Sale", 1),
    ("Do Not Call", 1),
    ("Default Status", 2),
];
/// The most call lines a campaign lead's `history` keeps; older ones are summed up in one
/// line, so that a campaign lead dialled a thousand times is not a 50 KB record.
const HISTORY_CALLS: usize = 20;

/// What an ended campaign call does to its campaign lead: the status that follows the
/// outcome (an answered call: one of [`ANSWERED_STATUSES`] the campaign has; busy: Busy; an
/// unallocated number: Wrong Number; anything else: No Answer), the agent of an answered
/// call, `updated_at`, and a history line. `calls_count` is counted when the call is placed.
pub(crate) fn record_outcome(store: &mut Store, rng: &mut fastrand::Rng, cdr: &Cdr) {
    let Some(campaign_lead) = store.campaign_leads.get(&cdr.campaign_lead_id) else {
        return;
    };
    let Some(campaign) = store.campaigns.get(&campaign_lead.campaign_id) else {
        return;
    };
    let status_id = outcome_status(campaign, cdr.cause, rng);
    let Some(campaign_lead) = store.campaign_leads.get_mut(&cdr.campaign_lead_id) else {
        return;
    };
    if let Some(status_id) = status_id {
        campaign_lead.status_id = status_id;
    }
    if cdr.user_id > 0 {
        campaign_lead.user_id = Some(cdr.user_id.into());
    }
    campaign_lead.updated_at = cdr.end_at;
    let history = &mut campaign_lead.history;
    history.push(call_line(cdr));
    let calls = history.iter().filter(|l| is_call_line(l)).count();
    if calls > HISTORY_CALLS {
        if let Some(oldest) = history.iter().position(|l| is_call_line(l)) {
            history.remove(oldest);
            let earlier = match history.iter().position(|l| l.starts_with(EARLIER)) {
                Some(at) => at,
                None => {
                    history.insert(oldest, format!("{EARLIER}0"));
                    oldest
                }
            };
            let n: u64 = history[earlier][EARLIER.len()..].parse().unwrap_or(0);
            history[earlier] = format!("{EARLIER}{}", n + 1);
        }
    }
}

/// The history line that sums up the calls no longer listed one by one.
const EARLIER: &str = "earlier calls: ";

/// The status an ended call leaves in its campaign (see [`record_outcome`]).
fn outcome_status(campaign: &Campaign, cause: u8, rng: &mut fastrand::Rng) -> Option<i64> {
    let cause = HANGUP_CAUSES.get(cause as usize).map_or("", |c| c.0);
    match cause {
        "NORMAL_CLEARING" => {
            let offered: Vec<(i64, u32)> = ANSWERED_STATUSES
                .iter()
                .filter_map(|(name, weight)| campaign.status_named(name).map(|s| (s.id, *weight)))
                .collect();
            (!offered.is_empty()).then(|| offered[weighted(rng, offered.iter().map(|o| o.1))].0)
        }
        "USER_BUSY" => campaign.status_named("Busy").map(|s| s.id),
        "UNALLOCATED_NUMBER" => campaign.status_named("Wrong Number").map(|s| s.id),
        _ => campaign.status_named("No Answer").map(|s| s.id),
    }
}

/// A campaign lead's history line for an ended call.
fn call_line(cdr: &Cdr) -> String {
    let cause = HANGUP_CAUSES.get(cdr.cause as usize).map_or("", |c| c.0);
    let time = crate::time::stamp(cdr.end_at);
    format!(
        "{} call {} {cause}",
        time.as_ref().map_or("", |t| t.as_str()),
        cdr.call_id()
    )
}

fn is_call_line(line: &str) -> bool {
    line.get(19..25) == Some(" call ")
}

/// What a campaign lead's calls come to, gathered in one pass over the CDRs.
#[derive(Default)]
struct Followed {
    calls: i64,
    /// The last [`HISTORY_CALLS`] ended calls (indexes into the CDRs), oldest first.
    recent: std::collections::VecDeque<u32>,
    ended: u64,
    agent: Option<i64>,
}

/// Campaign leads as their calls left them: each counts its CDRs, takes the status that
/// follows its last ended call, the agent of its last answered call, and a history line per
/// ended call (the last [`HISTORY_CALLS`], the earlier ones summed up in one line), as
/// [`record_outcome`] does call by call in a live twin. One never called stays in the
/// campaign's first status (New). One pass over the CDRs, then one per campaign lead.
fn follow_calls(store: &mut Store, rng: &mut fastrand::Rng, cdrs: &[Cdr]) {
    let mut followed: ahash::AHashMap<i64, Followed> = Default::default();
    for (index, cdr) in cdrs.iter().enumerate() {
        if cdr.campaign_lead_id <= 0 {
            continue;
        }
        let f = followed.entry(cdr.campaign_lead_id).or_default();
        f.calls += 1;
        if cdr.cause == ONGOING {
            continue;
        }
        f.ended += 1;
        if f.recent.len() == HISTORY_CALLS {
            f.recent.pop_front();
        }
        f.recent.push_back(index as u32);
        if cdr.user_id > 0 {
            f.agent = Some(cdr.user_id.into());
        }
    }
    let Store {
        campaign_leads,
        campaigns,
        ..
    } = store;
    for campaign_lead in campaign_leads.values_mut() {
        let Some(campaign) = campaigns.get(&campaign_lead.campaign_id) else {
            continue;
        };
        let f = followed.remove(&campaign_lead.id).unwrap_or_default();
        campaign_lead.calls_count = f.calls;
        campaign_lead.user_id = f.agent;
        campaign_lead.updated_at = campaign_lead.created_at;
        if let Some(first) = campaign.statuses.first() {
            campaign_lead.status_id = first.id;
        }
        let Some(&last) = f.recent.back() else {
            continue;
        };
        let last = &cdrs[last as usize];
        if let Some(status) = outcome_status(campaign, last.cause, rng) {
            campaign_lead.status_id = status;
        }
        campaign_lead.updated_at = last.end_at;
        let earlier = f.ended - f.recent.len() as u64;
        if earlier > 0 {
            campaign_lead.history.push(format!("{EARLIER}{earlier}"));
        }
        campaign_lead
            .history
            .extend(f.recent.iter().map(|&i| call_line(&cdrs[i as usize])));
    }
}

/// `cause` of a call still in progress.
pub(crate) const ONGOING: u8 = u8::MAX;

pub const CDR_FIELDS: [&str; 27] = [
    "id",
    "call_id",
    "call_uuid",
    "campaign_id",
    "lead_id",
    "campaign_lead_id",
    "user_id",
    "src",
    "dst",
    "start_at",
    "answer_at",
    "end_at",
    "call_duration",
    "bill_duration",
    "status",
    "q850",
    "object_type_id",
    "object_id",
    "caller_user_id",
    "caller_user",
    "dst_country",
    "agent_callerid_name",
    "agent_callerid_number",
    "client_callerid_name",
    "client_callerid_number",
    "client_hangup_disposition",
    "public_recording_url",
];

pub(crate) const CALL_FIELDS: [&str; 18] = [
    "id",
    "call_uuid",
    "campaign_id",
    "lead_id",
    "campaign_lead_id",
    "user_id",
    "src",
    "dst",
    "start_at",
    "answer_at",
    "end_at",
    "call_duration",
    "call_bill_duration",
    "status",
    "q850",
    "has_recording",
    "object_type_id",
    "object_id",
];

pub(crate) const CDR_TIME_FIELDS: [&str; 3] = ["start_at", "answer_at", "end_at"];

/// `object_type_id` of a campaign's call (`object_id` is the campaign).
pub(crate) const OBJECT_CAMPAIGN: i64 = 1;
/// `object_type_id` of an inbound call on a DID (no campaign, no lead).
pub(crate) const OBJECT_DID: i64 = 4;
/// The host part of an inbound caller's SIP address.
pub(crate) const DID_HOST: &str = "did.sandbox.td";
/// What the sandbox puts in caller-id names and the agent's caller-id number (the clone
/// template's values).
const AGENT_CALLERID_NAME: &str = "AgentId";
const AGENT_CALLERID_NUMBER: &str = "11223344";
const CLIENT_CALLERID_NAME: &str = "Client";

/// One call and its CDR, compact: a million of them fit in about 100 MB.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cdr {
    pub(crate) id: i64,
    pub(crate) lead_id: i64,
    pub(crate) campaign_lead_id: i64,
    pub(crate) start_at: i64,
    /// 0 when the call was not answered.
    pub(crate) answer_at: i64,
    /// 0 while the call is in progress.
    pub(crate) end_at: i64,
    pub(crate) src: u64,
    pub(crate) dst: u64,
    pub(crate) campaign_id: i32,
    /// 0 when no agent took the call.
    pub(crate) user_id: i32,
    pub(crate) call_duration: i32,
    pub(crate) bill_duration: i32,
    /// Index into [`HANGUP_CAUSES`], or [`ONGOING`].
    pub(crate) cause: u8,
    /// An inbound call on a DID: `src` is the caller, `dst` the DID's extension, and there
    /// is no campaign or lead.
    #[serde(default)]
    pub(crate) inbound: bool,
}

/// The country of a dialled number, by its calling code (the sandbox dials the UK).
fn country_of(number: u64) -> &'static str {
    let mut text = itoa::Buffer::new();
    let digits = text.format(number);
    [
        ("44", "GB"),
        ("353", "IE"),
        ("49", "DE"),
        ("34", "ES"),
        ("1", "CA"),
    ]
    .iter()
    .find(|(code, _)| digits.starts_with(code))
    .map_or("", |(_, country)| country)
}

pub(crate) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Cdr {
    pub(crate) fn call_id(&self) -> i64 {
        self.id + CALL_ID_OFFSET
    }

    pub(crate) fn has_recording(&self) -> bool {
        self.bill_duration > 0 && self.end_at > 0
    }

    /// The secret part of the call's public recording link.
    pub(crate) fn recording_token(&self) -> String {
        self.recording_token_in(&mut [0; 40]).to_string()
    }

    /// The recording link's token written into `out`: the first 20 bytes of a SHA-256, in hex.
    fn recording_token_in<'b>(&self, out: &'b mut [u8; 40]) -> &'b str {
        use sha2::{Digest, Sha256};
        let mut digest = Sha256::new();
        digest.update("tdc sandbox recording ");
        digest.update(self.call_uuid_in(&mut [0; 36]));
        let digest = digest.finalize();
        for (pair, byte) in out.chunks_mut(2).zip(&digest[..20]) {
            hex_into(pair, u64::from(*byte));
        }
        std::str::from_utf8(out).unwrap_or_default()
    }

    /// The path of the call's public recording link (served without authentication).
    pub(crate) fn public_recording_path(&self) -> String {
        format!(
            "/record/public/{}/{}/as/mp3",
            self.call_id(),
            self.recording_token()
        )
    }

    /// How the client's side of the call ended, in FreeSWITCH's words.
    fn hangup_disposition(&self) -> &'static str {
        match HANGUP_CAUSES.get(self.cause as usize).map(|c| c.0) {
            None => "",
            Some("NORMAL_CLEARING") if self.id % 3 == 0 => "send_bye",
            Some("NORMAL_CLEARING") => "recv_bye",
            Some("USER_BUSY" | "CALL_REJECTED" | "UNALLOCATED_NUMBER") => "recv_refuse",
            Some("NORMAL_TEMPORARY_FAILURE") => "recv_refuse",
            Some(_) => "send_cancel",
        }
    }

    /// The user who placed the call: the agent who took it, else the dialer itself.
    fn caller_user_id(&self) -> i64 {
        if self.user_id > 0 {
            self.user_id.into()
        } else {
            crate::sandbox::users::SYSTEM_USER_ID
        }
    }

    fn dst_text(&self) -> String {
        if self.inbound {
            format!("{:07}", self.dst)
        } else {
            self.dst.to_string()
        }
    }

    pub(crate) fn call_uuid(&self) -> String {
        self.call_uuid_in(&mut [0; 36]).to_string()
    }

    /// The call's UUID written into `out`, without allocating (pages show one per row).
    pub(crate) fn call_uuid_in<'b>(&self, out: &'b mut [u8; 36]) -> &'b str {
        let a = splitmix(self.id as u64);
        let b = splitmix(a);
        // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx, version 4, variant 10.
        hex_into(&mut out[0..8], a >> 32);
        hex_into(&mut out[9..13], a >> 16);
        hex_into(&mut out[15..18], a);
        hex_into(&mut out[19..23], (b >> 48) & 0x3fff | 0x8000);
        hex_into(&mut out[24..36], b);
        for dash in [8, 13, 18, 23] {
            out[dash] = b'-';
        }
        out[14] = b'4';
        std::str::from_utf8(out).unwrap_or_default()
    }

    /// A field whose text is a number as the dialer writes it (`src`, `dst`), if `name` is
    /// one for this call: shown without building a string.
    fn number_text(&self, name: &str) -> Option<u64> {
        match name {
            "src" | "dst" if self.inbound => None,
            "src" | "client_callerid_number" => Some(self.src),
            "dst" => Some(self.dst),
            _ => None,
        }
    }

    fn optional(n: i64) -> FieldValue<'static> {
        if n == 0 {
            FieldValue::Null
        } else {
            FieldValue::Int(n)
        }
    }

    fn optional_time(t: i64) -> FieldValue<'static> {
        if t == 0 {
            FieldValue::Null
        } else {
            FieldValue::Time(t)
        }
    }

    /// A field by name, as a CDR (`as_call` false) or as a call.
    pub(crate) fn field_value(&self, name: &str, as_call: bool) -> FieldValue<'static> {
        match name {
            "id" if as_call => FieldValue::Int(self.call_id()),
            "id" => FieldValue::Int(self.id),
            "call_id" => FieldValue::Int(self.call_id()),
            "call_uuid" => FieldValue::Text(Cow::Owned(self.call_uuid())),
            "campaign_id" => Self::optional(self.campaign_id.into()),
            "lead_id" => Self::optional(self.lead_id),
            "campaign_lead_id" => Self::optional(self.campaign_lead_id),
            "user_id" => Self::optional(self.user_id.into()),
            "src" if self.inbound => {
                FieldValue::Text(Cow::Owned(format!("{}@{DID_HOST}", self.src)))
            }
            "src" => FieldValue::Text(Cow::Owned(self.src.to_string())),
            "dst" => FieldValue::Text(Cow::Owned(self.dst_text())),
            "object_type_id" if self.inbound => FieldValue::Int(OBJECT_DID),
            "object_type_id" => FieldValue::Int(OBJECT_CAMPAIGN),
            "object_id" => FieldValue::Int(self.campaign_id.into()),
            "caller_user_id" => FieldValue::Int(self.caller_user_id()),
            "caller_user" => crate::sandbox::users::User::by_id(self.caller_user_id())
                .map_or(FieldValue::Null, |u| FieldValue::Text(u.display_name())),
            "dst_country" if self.inbound => FieldValue::Text(Cow::Borrowed("")),
            "dst_country" => FieldValue::Text(Cow::Borrowed(country_of(self.dst))),
            "agent_callerid_name" => FieldValue::Text(Cow::Borrowed(AGENT_CALLERID_NAME)),
            "agent_callerid_number" => FieldValue::Text(Cow::Borrowed(AGENT_CALLERID_NUMBER)),
            "client_callerid_name" => FieldValue::Text(Cow::Borrowed(CLIENT_CALLERID_NAME)),
            "client_callerid_number" => FieldValue::Text(Cow::Owned(self.src.to_string())),
            "client_hangup_disposition" => {
                FieldValue::Text(Cow::Borrowed(self.hangup_disposition()))
            }
            "public_recording_url" if self.has_recording() => {
                FieldValue::Text(Cow::Owned(self.public_recording_path()))
            }
            "public_recording_url" => FieldValue::Null,
            "start_at" => FieldValue::Time(self.start_at),
            "answer_at" => Self::optional_time(self.answer_at),
            "end_at" => Self::optional_time(self.end_at),
            "call_duration" => FieldValue::Int(self.call_duration.into()),
            "bill_duration" | "call_bill_duration" => FieldValue::Int(self.bill_duration.into()),
            "status" => match HANGUP_CAUSES.get(self.cause as usize) {
                Some((name, _, _)) => FieldValue::Text(Cow::Borrowed(name)),
                None => FieldValue::Null,
            },
            "q850" => FieldValue::Int(
                HANGUP_CAUSES
                    .get(self.cause as usize)
                    .map_or(0, |(_, code, _)| *code),
            ),
            "has_recording" => FieldValue::Int(self.has_recording().into()),
            _ => FieldValue::Null,
        }
    }

    /// `field_value` as the answer shows it: the recording link is made absolute on `base`.
    fn shown_value(&self, name: &str, as_call: bool, base: &str) -> FieldValue<'static> {
        match self.field_value(name, as_call) {
            FieldValue::Text(path) if name == "public_recording_url" => {
                FieldValue::Text(Cow::Owned(format!("{base}{path}")))
            }
            value => value,
        }
    }

    /// The record as the dialer sends it: every value a string, or null (the tests' model of
    /// `write_page`).
    #[cfg(test)]
    pub(crate) fn to_json(&self, fields: &[&str], as_call: bool, base: &str) -> Value {
        let mut out = Map::with_capacity(fields.len());
        for field in fields {
            let value = match self.shown_value(field, as_call, base) {
                FieldValue::Null => Value::Null,
                FieldValue::Int(n) => Value::String(n.to_string()),
                FieldValue::Time(t) => Value::String(format_time(t)),
                FieldValue::Text(text) => Value::String(text.into_owned()),
            };
            out.insert((*field).to_string(), value);
        }
        Value::Object(out)
    }
}

/// A page of CDRs or calls as the answer body `{"<envelope>": [...]}`, every value a string
/// or null, written straight into `out`: pages of a thousand rows are the sandbox's hottest
/// path. Each key is escaped once a page, and the values that cannot hold a character JSON
/// escapes (numbers, times, UUIDs) are written as they are; other texts go through serde_json.
pub fn write_page(
    out: &mut Vec<u8>,
    envelope: &str,
    rows: &[&Cdr],
    fields: &[&str],
    as_call: bool,
    base: &str,
) {
    let keys: Vec<Vec<u8>> = fields
        .iter()
        .map(|field| {
            let mut key = json_text(field);
            key.push(b':');
            key
        })
        .collect();
    out.push(b'{');
    out.extend_from_slice(&json_text(envelope));
    out.extend_from_slice(b":[");
    let base_json = json_text(base);
    let (mut digits, mut uuid, mut token) = (itoa::Buffer::new(), [0; 36], [0; 40]);
    for (i, cdr) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        for (j, (field, key)) in fields.iter().zip(&keys).enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            if let Some(number) = cdr.number_text(field) {
                quoted(out, digits.format(number));
                continue;
            }
            if *field == "call_uuid" {
                quoted(out, cdr.call_uuid_in(&mut uuid));
                continue;
            }
            if *field == "public_recording_url" && cdr.has_recording() {
                // The escaped base without its closing quote, then a path of digits and hex.
                out.extend_from_slice(&base_json[..base_json.len() - 1]);
                out.extend_from_slice(b"/record/public/");
                out.extend_from_slice(digits.format(cdr.call_id()).as_bytes());
                out.push(b'/');
                out.extend_from_slice(cdr.recording_token_in(&mut token).as_bytes());
                out.extend_from_slice(b"/as/mp3\"");
                continue;
            }
            match cdr.shown_value(field, as_call, base) {
                FieldValue::Null => out.extend_from_slice(b"null"),
                FieldValue::Int(n) => quoted(out, digits.format(n)),
                FieldValue::Time(t) => match crate::time::stamp(t) {
                    Some(stamp) => quoted(out, stamp.as_str()),
                    None => out.extend_from_slice(b"null"),
                },
                FieldValue::Text(text) => out.extend_from_slice(&json_text(&text)),
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

/// The lowest `out.len()` hex digits of `value`, written into `out`.
fn hex_into(out: &mut [u8], mut value: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for digit in out.iter_mut().rev() {
        *digit = HEX[(value & 15) as usize];
        value >>= 4;
    }
}

/// `text` as a JSON string, escaped.
fn json_text(text: &str) -> Vec<u8> {
    // Writing a string into memory cannot fail.
    serde_json::to_vec(text).unwrap_or_default()
}

/// A text made only of digits, separators and hex letters, as a JSON string: nothing to escape.
fn quoted(out: &mut Vec<u8>, text: &str) {
    debug_assert!(text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" -:".contains(&b)));
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// The settings of the vendor guide's clone example, with its `default_*_status` ids pointing
/// at statuses of [`STATUSES`].
const TEMPLATE: &str = r#"{
        "name": "", "description": "", "creator_user_id": "2", "is_active": "1",
        "agent_callerid_name": "AgentId", "agent_callerid_number": "11223344",
        "client_callerid_name": "Client", "client_callerid_number": "777777777777",
        "default_weight": "0", "auto_dial": "0", "auto_dial_delay": "0",
        "feedback_timeout": "3000", "feedback_default_status": "2",
        "created_at": "2012-04-22 11:16:22", "updated_at": "2014-08-18 11:28:08",
        "is_deleted": "0", "default_permanent_expiration_days": "5",
        "campaign_type": "predictive", "predictive_call_ratio": "3",
        "predictive_call_timeout": "30", "default_busy_status": "1",
        "default_voice_mail_status": "12", "default_fax_status": "18",
        "default_timeout_status": "11", "default_not_exists_status": "17",
        "predictive_fallback_action": "playback",
        "predictive_fallback_action_options": "test.wav", "default_error_status": "2",
        "default_answer_status": "2", "predictive_fallback_action_timeout": "0",
        "remote_data_url": "http://your_crm_url.com/lead_{original_identifier}.php",
        "remote_call_screen_enabled": "0", "predictive_ringing_preservation_ratio": "1",
        "predictive_preservation_min_ringing_duration": "40",
        "default_direct_dial_status": "2", "highest_priority_weight": "10000",
        "voicemail_time_options": "once", "fetch_leads_type": "priority", "parent_id": null,
        "permanent_callback_keepalive": "1", "permanent_agent_offline_keepalive": "3",
        "permanent_daily_limit": "0", "permanent_total_limit": "0",
        "available_agent_search_timeout": "10",
        "custom_call_fields": "[\"original_identifier\",\"first_name\",\"last_name\",\"country_name\",\"timezone_name\"]",
        "min_weight": "0", "advanced_call_fields": "", "iframe_call_fields": "",
        "remote_javascript_code": "", "default_remote_adapter_channel_id": "0",
        "redial_limit": "0", "hide_voicemail_for_no_ratio_permanents": "0",
        "voicemail_button_hide_timeout": "40", "end_call_show_timeout": "5",
        "notify_user_about_online_lead": "0", "permanent_expiration_active": "0",
        "no_ratio_leads_fetching_method": "queue", "highest_priority_weight_ratio_level": "0",
        "is_caller_id_random": "1", "is_hold_enabled": "0", "show_phone_symbols": "-1",
        "amd_enabled": "0", "amd_max_duration": "5", "amd_settings": "",
        "phone_mask_mode": "last", "voice_mail_button_status": "12",
        "override_dropped_call_action": "1", "default_caller_id": null
    }"#;

fn campaign_template() -> Map<String, Value> {
    let template: Value = serde_json::from_str(TEMPLATE).unwrap_or(Value::Null);
    match template {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `(campaign id, name, caller id, share of leads in %, statuses not used)`.
type CampaignSeed = (i64, &'static str, u64, u32, &'static [&'static str]);

const CAMPAIGNS: [CampaignSeed; 4] = [
    (12, "Campaign 12", 442_080_000_012, 40, &["Appointment"]),
    (13, "Campaign 13", 442_080_000_013, 30, &["Appointment"]),
    (
        14,
        "Recycle",
        442_080_000_014,
        20,
        &["Callback", "Interested", "Appointment"],
    ),
    (15, "Spring offers", 442_080_000_015, 10, &[]),
];

fn campaigns() -> Vec<Campaign> {
    CAMPAIGNS
        .iter()
        .map(|&(id, name, caller_id, _, unused)| {
            let mut settings = campaign_template();
            settings.insert("name".into(), name.into());
            settings.insert("description".into(), format!("{name} (sandbox)").into());
            settings.insert(
                "client_callerid_number".into(),
                caller_id.to_string().into(),
            );
            let statuses = STATUSES
                .iter()
                .filter(|(_, name)| !unused.contains(name))
                .map(|&(id, name)| Status {
                    id,
                    name: name.to_string(),
                })
                .collect();
            Campaign {
                id,
                settings,
                statuses,
            }
        })
        .collect()
}

const FIRST_NAMES: [&str; 16] = [
    "Alfred", "Maria", "John", "Aisha", "Pedro", "Olga", "Chen", "Fatima", "Liam", "Noa", "Ivan",
    "Sofia", "Kwame", "Elena", "Raj", "Hannah",
];
const LAST_NAMES: [&str; 16] = [
    "Smith", "Garcia", "Brown", "Khan", "Silva", "Ivanova", "Wang", "Haddad", "Murphy", "Levi",
    "Petrov", "Rossi", "Mensah", "Popescu", "Patel", "Schmidt",
];
const CITIES: [(&str, &str, &str); 6] = [
    ("London", "UK", "Europe/London"),
    ("Manchester", "UK", "Europe/London"),
    ("Dublin", "IE", "Europe/Dublin"),
    ("Berlin", "DE", "Europe/Berlin"),
    ("Madrid", "ES", "Europe/Madrid"),
    ("Toronto", "CA", "America/Toronto"),
];
const AFFILIATES: [&str; 4] = ["BZ15", "BZ150", "AF22", "DIRECT"];

fn pick<T: Copy>(rng: &mut fastrand::Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

pub(crate) fn weighted(
    rng: &mut fastrand::Rng,
    weights: impl Iterator<Item = u32> + Clone,
) -> usize {
    let total: u32 = weights.clone().sum();
    let mut roll = rng.u32(..total.max(1));
    for (i, w) in weights.enumerate() {
        if roll < w {
            return i;
        }
        roll -= w;
    }
    0
}

fn set(lead: &mut Lead, field: &str, value: Option<String>) {
    if let Some(i) = LEAD_FIELDS.iter().position(|f| *f == field) {
        lead.fields[i] = value;
    }
}

fn make_lead(rng: &mut fastrand::Rng, id: i64, created_at: i64) -> Lead {
    let mut lead = Lead {
        id,
        fields: vec![None; LEAD_FIELDS.len()],
        custom_fields: Map::new(),
        created_at,
        updated_at: created_at,
    };
    let first = pick(rng, &FIRST_NAMES);
    let last = pick(rng, &LAST_NAMES);
    let (city, country, timezone) = pick(rng, &CITIES);
    let phone = 447_700_000_000u64 + splitmix(id as u64) % 100_000_000;
    set(&mut lead, "first_name", Some(first.into()));
    set(&mut lead, "last_name", Some(last.into()));
    set(&mut lead, "phone", Some(phone.to_string()));
    set(
        &mut lead,
        "address1",
        Some(format!("{} High Street", 1 + id % 200)),
    );
    set(&mut lead, "city", Some(city.into()));
    set(&mut lead, "country", Some(country.into()));
    set(&mut lead, "timezone", Some(timezone.into()));
    set(
        &mut lead,
        "zip",
        Some(format!("{:05}", splitmix(!(id as u64)) % 100_000)),
    );
    set(
        &mut lead,
        "original_identifier",
        Some(format!("CRM-{id:06}")),
    );
    set(
        &mut lead,
        "email",
        Some(format!(
            "{}.{}{id}@example.com",
            first.to_lowercase(),
            last.to_lowercase()
        )),
    );
    let purchase_site = match rng.u8(..4) {
        0 => None,
        1 | 2 => Some("x".to_string()),
        _ => Some("shop.example".to_string()),
    };
    set(&mut lead, "purchase_site", purchase_site);
    let affiliate = pick(rng, &AFFILIATES);
    if affiliate.starts_with("BZ") {
        set(
            &mut lead,
            "purchase_card_name",
            Some(format!("affiliate_{}", affiliate.to_lowercase())),
        );
    }
    set(
        &mut lead,
        "birthdate",
        Some(format!(
            "{}-{:02}-{:02}",
            1950 + rng.u8(..55) as i32,
            rng.u8(1..13),
            rng.u8(1..29)
        )),
    );
    lead.custom_fields
        .insert("affiliate".into(), Value::String(affiliate.into()));
    lead
}

struct Membership {
    id: i64,
    lead_id: i64,
    campaign_id: i64,
    phone: u64,
}

fn reserved_sequence(reserved: i64) -> impl FnMut() -> i64 {
    let mut next = 0;
    move || {
        next += 1;
        if next == reserved {
            next += 1;
        }
        next
    }
}

/// Builds the campaigns, leads and campaign leads, and the CDRs.
pub fn generate(seed: u64, leads: usize, cdrs: usize) -> (Store, Vec<Cdr>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut store = Store::default();
    for campaign in campaigns() {
        store.campaigns.insert(campaign.id, campaign);
    }

    let lead_created_from = parse_time("2023-06-01").unwrap_or_default();
    let lead_created_span = parse_time("2024-08-31").unwrap_or_default() - lead_created_from;
    let mut next_lead_id = reserved_sequence(GUIDE_LEAD_ID);
    let mut next_campaign_lead_id = reserved_sequence(GUIDE_CAMPAIGN_LEAD_ID);
    let mut memberships = Vec::with_capacity(leads + leads / 20);
    let campaign_weights = CAMPAIGNS.iter().map(|c| c.3);
    let mut add_membership =
        |store: &mut Store, rng: &mut fastrand::Rng, id: i64, lead: &Lead, campaign_id: i64| {
            let campaign = &store.campaigns[&campaign_id];
            let weight_of = |status: &Status| {
                STATUSES
                    .iter()
                    .position(|(id, _)| *id == status.id)
                    .map_or(0, |i| STATUS_WEIGHTS[i])
            };
            let status_index = weighted(rng, campaign.statuses.iter().map(weight_of));
            let status_id = campaign.statuses[status_index].id;
            let weight = campaign.default_weight();
            let created_at = lead.created_at + rng.i64(3600..86_400 * 20);
            let calls_count = if status_index == 0 { 0 } else { rng.i64(1..9) };
            let user_id = (status_index >= 4).then(|| rng.i64(101..125));
            store.insert_campaign_lead(CampaignLead {
                id,
                lead_id: lead.id,
                campaign_id,
                status_id,
                calls_count,
                user_id,
                weight,
                created_at,
                updated_at: created_at + calls_count * 86_400,
                history: vec![format!("{} imported", format_time(created_at))],
            });
            memberships.push(Membership {
                id,
                lead_id: lead.id,
                campaign_id,
                phone: lead.phone_normalized().parse().unwrap_or_default(),
            });
        };

    for n in 0..leads {
        let is_guide_lead = n + 1 == leads;
        let id = if is_guide_lead {
            GUIDE_LEAD_ID
        } else {
            next_lead_id()
        };
        let created_at = lead_created_from + lead_created_span * n as i64 / leads.max(1) as i64;
        let mut lead = make_lead(&mut rng, id, created_at);
        let mut campaigns = vec![CAMPAIGNS[weighted(&mut rng, campaign_weights.clone())].0];
        if rng.u8(..100) < 3 {
            let second = CAMPAIGNS[rng.usize(..CAMPAIGNS.len())].0;
            if second != campaigns[0] {
                campaigns.push(second);
            }
        }
        match id {
            _ if is_guide_lead => {
                // The guide's Alfred Smith, exactly as its examples show him.
                lead.fields = vec![None; LEAD_FIELDS.len()];
                set(&mut lead, "first_name", Some("Alfred".into()));
                set(&mut lead, "last_name", Some("Smith".into()));
                set(&mut lead, "phone", Some("447700001234".into()));
                set(&mut lead, "address1", Some("150 Albert Road".into()));
                set(&mut lead, "city", Some("London".into()));
                set(&mut lead, "country", Some("UK".into()));
                set(&mut lead, "original_identifier", Some(String::new()));
                set(&mut lead, "email", Some("[email protected]".into()));
                set(&mut lead, "birthdate", Some("2000-01-23".into()));
                campaigns = vec![12];
            }
            1 => campaigns = vec![12],
            2 => campaigns = vec![13],
            3 => {
                set(&mut lead, "phone", Some("447700001235".into()));
                campaigns = vec![12, 13];
            }
            _ if id % 40 == 0 => {
                // A re-import of an earlier lead with the phone written differently: the
                // duplicates a dedupe finds only after normalizing.
                let earlier = store
                    .leads
                    .get(&(id - 7))
                    .and_then(|l| l.get("phone"))
                    .map(|p| format!("+{} {} {}", &p[..2], &p[2..6], &p[6..]));
                set(&mut lead, "phone", earlier);
            }
            _ => {}
        }
        for campaign_id in campaigns {
            let cl_id = if is_guide_lead {
                GUIDE_CAMPAIGN_LEAD_ID
            } else {
                next_campaign_lead_id()
            };
            add_membership(&mut store, &mut rng, cl_id, &lead, campaign_id);
        }
        store.leads.insert(id, lead);
    }
    if let Some(cl) = store.campaign_leads.get_mut(&GUIDE_CAMPAIGN_LEAD_ID) {
        cl.status_id = 11; // "No Answer": present in campaign 13 too
    }
    let cdrs = generate_cdrs(&mut rng, &memberships, &store, cdrs);
    follow_calls(&mut store, &mut rng, &cdrs);
    (store, cdrs)
}

/// Relative call volume of each working hour from 08:00 to 19:59.
const HOUR_WEIGHTS: [f64; 12] = [3.0, 6.0, 9.0, 10.0, 8.0, 5.0, 7.0, 9.0, 10.0, 8.0, 5.0, 3.0];

/// Maps a fraction of a working day onto an offset in seconds from 08:00, so that calls bunch
/// in the busy hours while staying in order.
fn working_day_offset(fraction: f64) -> i64 {
    let total: f64 = HOUR_WEIGHTS.iter().sum();
    let mut target = fraction * total;
    for (hour, weight) in HOUR_WEIGHTS.iter().enumerate() {
        if target < *weight {
            return ((hour as f64 + target / weight) * 3600.0) as i64;
        }
        target -= weight;
    }
    12 * 3600 - 1
}

/// A hangup cause for a new call: an index into [`HANGUP_CAUSES`].
pub(crate) fn draw_cause(rng: &mut fastrand::Rng) -> u8 {
    weighted(rng, HANGUP_CAUSES.iter().map(|c| c.2)) as u8
}

/// Billed seconds of an answered call: mostly short, a few up to ten minutes.
pub(crate) fn draw_talk_seconds(rng: &mut fastrand::Rng) -> i64 {
    5 + (rng.f64().powi(2) * 600.0) as i64
}

/// About one call in twenty is an inbound call on a DID (never the guide's call 45475). Drawn
/// from the id, not the generator, so the other calls are the same with or without them.
fn is_inbound(id: i64) -> bool {
    id + CALL_ID_OFFSET != GUIDE_CALL_ID && splitmix(id as u64 ^ 0xD1D) % 100 < 5
}

/// Turns a generated call into an inbound call: a caller from outside dials one of the
/// tenant's DIDs (a short extension that keeps its leading zeros).
fn make_inbound(cdr: &mut Cdr) {
    let draw = splitmix(cdr.id as u64 ^ 0x1B0B);
    cdr.inbound = true;
    cdr.campaign_id = 0;
    cdr.lead_id = 0;
    cdr.campaign_lead_id = 0;
    cdr.src = 593_990_000_000 + draw % 1_000_000;
    cdr.dst = 7_000 + (draw >> 32) % 400;
}

fn generate_cdrs(
    rng: &mut fastrand::Rng,
    memberships: &[Membership],
    store: &Store,
    count: usize,
) -> Vec<Cdr> {
    if memberships.is_empty() {
        return Vec::new();
    }
    let first_day = parse_time("2024-09-01").unwrap_or_default();
    let days = (parse_time("2025-03-31").unwrap_or_default() - first_day) / 86_400 + 1;
    let caller_ids: Vec<(i64, u64)> = store
        .campaigns
        .values()
        .map(|c| {
            let number = c
                .settings
                .get("client_callerid_number")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .unwrap_or_default();
            (c.id, number)
        })
        .collect();
    let ongoing_from = count.saturating_sub((count / 2000).clamp(1, 5));
    let mut cdrs = Vec::with_capacity(count);
    for n in 0..count {
        let id = n as i64 + 1;
        let position = n as f64 / count as f64 * days as f64;
        let day = position.floor() as i64;
        let start_at = first_day + day * 86_400 + 8 * 3600 + working_day_offset(position.fract());
        let member = &memberships[rng.usize(..memberships.len())];
        let src = caller_ids
            .iter()
            .find(|(c, _)| *c == member.campaign_id)
            .map_or(0, |(_, n)| *n);
        let mut cause = draw_cause(rng);
        if id + CALL_ID_OFFSET == GUIDE_CALL_ID {
            cause = 0;
        }
        let ring = rng.i64(3..30);
        let (answer_at, bill) = if cause == 0 {
            let bill = if id + CALL_ID_OFFSET == GUIDE_CALL_ID {
                95
            } else {
                draw_talk_seconds(rng)
            };
            (start_at + ring, bill)
        } else {
            (0, 0)
        };
        let mut cdr = Cdr {
            id,
            lead_id: member.lead_id,
            campaign_lead_id: member.id,
            start_at,
            answer_at,
            end_at: start_at + ring + bill,
            src,
            dst: member.phone,
            campaign_id: member.campaign_id as i32,
            user_id: if cause == 0 { rng.i32(101..125) } else { 0 },
            call_duration: (ring + bill) as i32,
            bill_duration: bill as i32,
            cause,
            inbound: false,
        };
        if is_inbound(id) {
            make_inbound(&mut cdr);
        }
        if n >= ongoing_from {
            cdr.cause = ONGOING;
            cdr.end_at = 0;
            cdr.bill_duration = 0;
        }
        cdrs.push(cdr);
    }
    cdrs
}

/// What `--state FILE` holds: the mutable data and what regenerates the rest.
#[derive(Serialize, Deserialize)]
pub(crate) struct SavedState {
    pub(crate) seed: u64,
    pub(crate) generated_leads: usize,
    /// How many CDRs the seed generated.
    pub(crate) cdrs: usize,
    pub(crate) store: Store,
    /// CDRs of calls made since (`--live`), after the generated ones.
    #[serde(default)]
    pub(crate) live_cdrs: Vec<Cdr>,
}

/// The data a sandbox serves, ready to be served (generated once, cheap to clone for a
/// fresh run).
#[derive(Clone)]
pub(crate) struct Dataset {
    pub(crate) seed: u64,
    /// How many leads the seed generated (CDRs are drawn from them).
    pub(crate) generated_leads: usize,
    pub(crate) store: Store,
    pub(crate) cdrs: Arc<Vec<Cdr>>,
    /// How many of `cdrs` the seed generated (the rest are live calls).
    pub(crate) generated_cdrs: usize,
}

impl Dataset {
    pub(crate) fn generate(seed: u64, leads: usize, cdrs: usize) -> Dataset {
        let (store, cdrs) = generate(seed, leads, cdrs);
        Dataset {
            seed,
            generated_leads: leads,
            store,
            generated_cdrs: cdrs.len(),
            cdrs: Arc::new(cdrs),
        }
    }

    /// The dataset a sandbox starts with: loaded from the state file when it exists, else
    /// generated from the seed and sizes.
    pub(crate) fn load_or_generate(
        state_file: Option<&std::path::Path>,
        seed: u64,
        leads: usize,
        cdrs: usize,
    ) -> Result<Dataset, super::StartError> {
        use super::StartError;
        if let Some(path) = state_file {
            if path.exists() {
                let access = crate::files::Access::own("--state");
                let text = crate::files::read_to_string(access, path).map_err(|e| {
                    StartError::ReadState {
                        path: path.to_path_buf(),
                        source: e.into(),
                    }
                })?;
                let saved: SavedState =
                    serde_json::from_str(&text).map_err(|source| StartError::BadState {
                        path: path.to_path_buf(),
                        source,
                    })?;
                let (_, mut cdrs) = generate(saved.seed, saved.generated_leads, saved.cdrs);
                let generated_cdrs = cdrs.len();
                cdrs.extend(saved.live_cdrs);
                let mut store = saved.store;
                store.reindex();
                return Ok(Dataset {
                    seed: saved.seed,
                    generated_leads: saved.generated_leads,
                    store,
                    generated_cdrs,
                    cdrs: Arc::new(cdrs),
                });
            }
        }
        Ok(Dataset::generate(seed, leads, cdrs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data() {
        let (a, cdrs_a) = generate(7, 300, 600);
        let (b, cdrs_b) = generate(7, 300, 600);
        let leads = |s: &Store| s.leads.values().map(Lead::to_json).collect::<Vec<_>>();
        assert_eq!(leads(&a), leads(&b));
        let cdr_json = |c: &[Cdr]| {
            c.iter()
                .map(|c| c.to_json(&CDR_FIELDS, false, ""))
                .collect::<Vec<_>>()
        };
        assert_eq!(cdr_json(&cdrs_a), cdr_json(&cdrs_b));
        let (c, _) = generate(8, 300, 600);
        assert_ne!(leads(&a), leads(&c));
    }

    #[test]
    fn rows_are_written_as_their_json_says() {
        let (_, mut cdrs) = generate(3, 300, 400);
        let mut inbound = cdrs[0].clone();
        inbound.inbound = true;
        inbound.dst = 42;
        cdrs.push(inbound);
        let base = "http://x\"\u{7}";
        for (fields, as_call) in [(&CDR_FIELDS[..], false), (&CALL_FIELDS[..], true)] {
            let rows: Vec<&Cdr> = cdrs.iter().collect();
            let mut body = Vec::new();
            write_page(&mut body, "cdrs", &rows, fields, as_call, base);
            let expected: Vec<Value> = cdrs
                .iter()
                .map(|c| c.to_json(fields, as_call, base))
                .collect();
            let written: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(written, serde_json::json!({ "cdrs": expected }));
        }
        let mut empty = Vec::new();
        write_page(&mut empty, "calls", &[], &CALL_FIELDS, true, base);
        assert_eq!(empty, br#"{"calls":[]}"#);
        // The UUID as a format string writes it.
        for cdr in &cdrs {
            let a = splitmix(cdr.id as u64);
            let b = splitmix(a);
            let reference = format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                (b >> 48) & 0x3fff | 0x8000,
                b & 0xffff_ffff_ffff
            );
            assert_eq!(cdr.call_uuid(), reference);
        }
        let uuid = cdrs[0].call_uuid();
        // The recording link's token: the first 20 bytes of a SHA-256, in hex.
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("tdc sandbox recording {uuid}"));
        let hex: String = digest[..20].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(cdrs[0].recording_token(), hex);
    }

    #[test]
    fn guide_fixed_points_exist() {
        let (store, cdrs) = generate(1, DEFAULT_LEADS, DEFAULT_CDRS);
        assert_eq!(store.leads.len(), DEFAULT_LEADS);
        for id in [1, 2, 3, GUIDE_LEAD_ID] {
            assert!(store.leads.contains_key(&id), "lead {id}");
        }
        let cl = &store.campaign_leads[&GUIDE_CAMPAIGN_LEAD_ID];
        assert_eq!((cl.lead_id, cl.campaign_id), (GUIDE_LEAD_ID, 12));
        assert_eq!(store.status_name(12, 69), Some("Do Not Call"));
        let in_campaigns = |lead| {
            store
                .campaign_leads_of(lead)
                .iter()
                .map(|cl| cl.campaign_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(in_campaigns(3), vec![12, 13]);
        let call = &cdrs[(GUIDE_CALL_ID - CALL_ID_OFFSET - 1) as usize];
        assert_eq!(call.call_id(), GUIDE_CALL_ID);
        assert!(call.has_recording() && call.bill_duration > 60);
        assert!(cdrs.windows(2).all(|w| w[0].start_at <= w[1].start_at));
        assert!(cdrs.last().is_some_and(|c| c.end_at == 0));
        let hours: std::collections::BTreeSet<i64> =
            cdrs.iter().map(|c| c.start_at % 86_400 / 3600).collect();
        assert_eq!(hours.first(), Some(&8));
        assert_eq!(hours.last(), Some(&19));
    }
}
