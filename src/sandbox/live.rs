//! A live twin (`--live N`): N new calls a minute on the wall clock, as a running dialer makes
//! them.
//!
//! Each call dials a campaign lead of an active campaign whose status is not final (Sale, Do
//! Not Call, Wrong Number); about one call in twenty is instead an inbound call on a DID. Its
//! CDR (and call record: they are one row) appears when the call starts, still ongoing
//! (`q850` 0, no `answer_at` or `end_at`), gets `answer_at` and the agent when it is
//! answered, and is completed when it ends, with ringing and talk times drawn as for the
//! generated calls. A campaign call counts in its campaign lead's `calls_count` when it is
//! placed; when it ends the campaign lead takes the status that follows the outcome, the agent
//! of an answered call and a history line, as the generated data does
//! ([`record_outcome`]).
//! With `--state`, live calls are saved beside the campaign leads (at most once a second).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::sandbox::dataset::{
    record_outcome, splitmix, Cdr, CALL_ID_OFFSET, FINAL_STATUSES, ONGOING,
};
use crate::sandbox::store::Store;
use crate::sandbox::AppState;

/// A call in progress and how it will go.
struct LiveCall {
    /// Its CDR's position.
    index: usize,
    cause: u8,
    /// 0 when it will not be answered.
    answer_at: i64,
    end_at: i64,
    bill_duration: i32,
    user_id: i32,
    answered: bool,
}

/// Places and completes calls until `shutdown`.
pub(crate) async fn run(state: Arc<AppState>, per_minute: u32, shutdown: CancellationToken) {
    let mut rng = fastrand::Rng::new();
    let started = Instant::now();
    let mut placed: u64 = 0;
    let mut calls = adopt_ongoing(&state, &mut rng);
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let mut last_save = Instant::now();
    let mut unsaved = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => {
                // Calls placed since the last save are kept: a restarted twin goes on
                // from them (and ends them) rather than handing their ids to new calls.
                if unsaved && state.state_file.is_some() {
                    state.save_state();
                }
                break;
            }
            _ = ticker.tick() => {}
        }
        let due = (started.elapsed().as_secs_f64() * f64::from(per_minute) / 60.0) as u64;
        let now = chrono::Utc::now().timestamp();
        while placed < due {
            placed += 1;
            if let Some(call) = place_call(&state, &mut rng, now) {
                calls.push(call);
                unsaved = true;
            }
        }
        let before = calls.len();
        calls.retain_mut(|call| !advance(&state, &mut rng, call, now));
        unsaved |= calls.len() != before;
        if unsaved && state.state_file.is_some() && last_save.elapsed() >= Duration::from_secs(1) {
            state.save_state();
            last_save = Instant::now();
            unsaved = false;
        }
    }
}

/// A campaign lead worth dialling, drawn at random: `(campaign lead id, lead id, campaign id,
/// phone, caller id)`.
fn pick_campaign_lead(store: &Store, rng: &mut fastrand::Rng) -> Option<(i64, i64, i64, u64, u64)> {
    let count = store.campaign_leads.len();
    for _ in 0..32 {
        let cl = store
            .campaign_leads
            .values()
            .nth(rng.usize(..count.max(1)))?;
        let campaign = store.campaigns.get(&cl.campaign_id)?;
        let active = campaign.settings.get("is_active").and_then(|v| v.as_str()) == Some("1");
        let status = store
            .status_name(cl.campaign_id, cl.status_id)
            .unwrap_or("");
        if !active || FINAL_STATUSES.contains(&status) {
            continue;
        }
        let phone = store
            .leads
            .get(&cl.lead_id)?
            .phone_normalized()
            .parse()
            .ok()?;
        let caller_id = campaign
            .settings
            .get("client_callerid_number")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        return Some((cl.id, cl.lead_id, cl.campaign_id, phone, caller_id));
    }
    None
}

/// The calls still ongoing when the twin starts (the last few generated ones, or live calls
/// saved by a twin that stopped) go on and end as any call does: none stays ongoing forever.
fn adopt_ongoing(state: &AppState, rng: &mut fastrand::Rng) -> Vec<LiveCall> {
    let cdrs = state.read_cdrs();
    cdrs.iter()
        .enumerate()
        .filter(|(_, cdr)| cdr.cause == ONGOING)
        .map(|(index, cdr)| LiveCall::drawn(index, rng, cdr.start_at))
        .collect()
}

impl LiveCall {
    /// The call whose CDR is at `index`, started at `start_at`, its outcome drawn as for the
    /// generated calls.
    fn drawn(index: usize, rng: &mut fastrand::Rng, start_at: i64) -> LiveCall {
        let (cause, answer_at, end_at, bill, user_id) = draw_outcome(rng, start_at);
        LiveCall {
            index,
            cause,
            answer_at,
            end_at,
            bill_duration: bill as i32,
            user_id,
            answered: false,
        }
    }
}

/// How a call that started at `start_at` goes: `(cause, answer_at or 0, end_at, billed
/// seconds, agent)`, drawn as for the generated calls.
fn draw_outcome(rng: &mut fastrand::Rng, start_at: i64) -> (u8, i64, i64, i64, i32) {
    let cause = crate::sandbox::dataset::draw_cause(rng);
    let ring = rng.i64(3..30);
    if cause == 0 {
        let bill = crate::sandbox::dataset::draw_talk_seconds(rng);
        (
            cause,
            start_at + ring,
            start_at + ring + bill,
            bill,
            rng.i32(101..125),
        )
    } else {
        (cause, 0, start_at + ring, 0, 0)
    }
}

fn place_call(state: &AppState, rng: &mut fastrand::Rng, now: i64) -> Option<LiveCall> {
    let inbound = rng.u8(..100) < 5;
    let target = if inbound {
        None
    } else {
        Some(pick_campaign_lead(&state.read(), rng)?)
    };
    let mut cdrs = state.write_cdrs();
    let index = cdrs.len();
    let id = index as i64 + 1;
    let draw = splitmix(id as u64 ^ now as u64);
    let (campaign_lead_id, lead_id, campaign_id, dst, src) = match target {
        Some(target) => target,
        None => (
            0,
            0,
            0,
            7_000 + draw % 400,
            593_990_000_000 + (draw >> 20) % 1_000_000,
        ),
    };
    cdrs.push(Cdr {
        id,
        lead_id,
        campaign_lead_id,
        start_at: now,
        answer_at: 0,
        end_at: 0,
        src,
        dst,
        campaign_id: campaign_id as i32,
        user_id: 0,
        call_duration: 0,
        bill_duration: 0,
        cause: ONGOING,
        inbound,
    });
    debug_assert_eq!(cdrs[index].call_id(), id + CALL_ID_OFFSET);
    drop(cdrs);
    if campaign_lead_id > 0 {
        // A call counts when it is placed: `calls_count` is always the number of its CDRs.
        let mut store = state.store.write().unwrap_or_else(|e| e.into_inner());
        if let Some(campaign_lead) = store.campaign_leads.get_mut(&campaign_lead_id) {
            campaign_lead.calls_count += 1;
        }
    }
    Some(LiveCall::drawn(index, rng, now))
}

/// Moves a call on to `now`; true once it has ended.
fn advance(state: &AppState, rng: &mut fastrand::Rng, call: &mut LiveCall, now: i64) -> bool {
    if call.answer_at > 0 && !call.answered && now >= call.answer_at {
        call.answered = true;
        let mut cdrs = state.write_cdrs();
        let cdr = &mut cdrs[call.index];
        cdr.answer_at = call.answer_at;
        cdr.user_id = call.user_id;
    }
    if now < call.end_at {
        return false;
    }
    let ended = {
        let mut cdrs = state.write_cdrs();
        let cdr = &mut cdrs[call.index];
        cdr.answer_at = call.answer_at;
        cdr.user_id = call.user_id;
        cdr.end_at = call.end_at;
        cdr.bill_duration = call.bill_duration;
        cdr.call_duration = (call.end_at - cdr.start_at) as i32;
        cdr.cause = call.cause;
        cdr.clone()
    };
    if ended.campaign_lead_id > 0 {
        let mut store = state.store.write().unwrap_or_else(|e| e.into_inner());
        record_outcome(&mut store, rng, &ended);
    }
    true
}
