//! The listings with nothing else to them: `cdrs()` and `calls()` (queries), `users()` and a
//! lead's `comments()`; the paging is `api::listing` and `api::scan`.

use rhai::plugin::*;

use super::*;

#[export_module]
pub mod listings_api {
    use super::*;

    /// Every user of the tenant: `id`, `username`, `first_name`, `last_name`, `is_active`,
    /// and `desks` (a map of desk id to desk name). Beyond the vendor guide: real tenants
    /// serve it at `/api/users`.
    ///
    /// ```rhai
    /// let agents = td.users().filter(|u| u.is_active == 1 && u.desks.len() > 0);
    /// print(agents.len());
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn users(dialer: &mut Dialer) -> RhaiResultOf<Array> {
        dialer.list_all(QuerySpec::new(Resource::Users))
    }

    /// The comments on one lead, oldest first: `id`, `lead_id`, `body`, `creator_user_id`,
    /// `created_at`. Beyond the vendor guide: real tenants serve it at
    /// `/api/comments/lead_id/{id}/`.
    ///
    /// ```rhai
    /// for c in td.comments(49969) { print(`${c.created_at} ${c.body}`); }
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn comments(dialer: &mut Dialer, lead_id: INT) -> RhaiResultOf<Array> {
        search(
            dialer,
            Resource::Comments,
            "lead_id",
            &Dynamic::from_int(lead_id),
        )
    }

    /// Call detail records as a Query; nothing is sent until it is read.
    ///
    /// ```rhai
    /// let q = td.cdrs().where("start_at", ">", "2025-01-01 00:00:00").where("q850", ">", 0);
    /// for c in q.limit(10) { print(c.status); }
    /// ```
    #[rhai_fn(pure)]
    pub fn cdrs(dialer: &mut Dialer) -> Query {
        Query::new(dialer.clone(), QuerySpec::new(Resource::Cdrs))
    }

    /// Calls as a Query (`limit`/`offset` paging on the server).
    ///
    /// ```rhai
    /// let ids = td.calls().where("call_bill_duration", ">", 60).fields(["id"]).limit(5).to_array();
    /// ```
    #[rhai_fn(pure)]
    pub fn calls(dialer: &mut Dialer) -> Query {
        Query::new(dialer.clone(), QuerySpec::new(Resource::Calls))
    }
}
