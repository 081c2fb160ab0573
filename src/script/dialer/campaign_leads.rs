//! A campaign's leads: `assign`, `update_campaign_leads`, `move_to_campaign` and the
//! `campaign_leads()` listing; the client side is `api::campaign_leads`.

use rhai::plugin::*;

use super::*;

#[export_module]
pub mod campaign_leads_api {
    use super::*;

    /// Assigns leads (by lead id) to a campaign. Returns a map from campaign-lead id (a string
    /// key) to the lead. A lead already in the campaign keeps its campaign lead.
    ///
    /// ```rhai
    /// let cls = td.assign([49969], 12);
    /// print(cls.keys());
    /// ```
    #[rhai_fn(name = "assign", return_raw, pure)]
    pub fn assign_ids(dialer: &mut Dialer, lead_ids: Array, campaign_id: INT) -> RhaiResultOf<Map> {
        assign_ids_remove(dialer, lead_ids, campaign_id, false)
    }

    /// Assigns leads by id; with `remove_from_others` true, their campaign leads in every other
    /// campaign are deleted (keeping each lead in one campaign).
    ///
    /// ```rhai
    /// td.assign([1, 2, 3], 12, true);
    /// ```
    #[rhai_fn(name = "assign", return_raw, pure)]
    pub fn assign_ids_remove(
        dialer: &mut Dialer,
        lead_ids: Array,
        campaign_id: INT,
        remove_from_others: bool,
    ) -> RhaiResultOf<Map> {
        let ids = id_list("assign", &lead_ids)?;
        let conditions = serde_json::json!({ "id": ids });
        mass_assign(dialer, conditions, campaign_id, remove_from_others)
    }

    /// Assigns the leads a where-map selects (`#{ field: [values] }`, every field must match).
    ///
    /// ```rhai
    /// td.assign(#{ phone: ["447700001234"] }, 12);
    /// ```
    #[rhai_fn(name = "assign", return_raw, pure)]
    pub fn assign_where(
        dialer: &mut Dialer,
        conditions: Map,
        campaign_id: INT,
    ) -> RhaiResultOf<Map> {
        assign_where_remove(dialer, conditions, campaign_id, false)
    }

    /// Assigns the leads a where-map selects; `remove_from_others` as for `assign(ids, …)`.
    ///
    /// ```rhai
    /// td.assign(#{ phone: ["447700001234"] }, 12, true);
    /// ```
    #[rhai_fn(name = "assign", return_raw, pure)]
    pub fn assign_where_remove(
        dialer: &mut Dialer,
        conditions: Map,
        campaign_id: INT,
        remove_from_others: bool,
    ) -> RhaiResultOf<Map> {
        if conditions.is_empty() {
            return Err(script_error(
                "assign: the where-map is empty; name at least one field",
            ));
        }
        let conditions = to_json_arg("assign", &Dynamic::from_map(conditions))?;
        mass_assign(dialer, conditions, campaign_id, remove_from_others)
    }

    /// Updates campaign leads (by campaign-lead id) and their leads:
    /// `#{ lead: #{…}, campaignLead: #{…} }`. Returns the updated campaign leads.
    ///
    /// ```rhai
    /// td.update_campaign_leads([78057], #{ lead: #{ phone: "447700001235" },
    ///                                     campaignLead: #{ status_id: 69 } });
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn update_campaign_leads(
        dialer: &mut Dialer,
        campaign_lead_ids: Array,
        update: Map,
    ) -> RhaiResultOf<Array> {
        let ids = id_list("update_campaign_leads", &campaign_lead_ids)?;
        if ids.is_empty() {
            return Err(script_error(
                "update_campaign_leads: no campaign-lead ids given",
            ));
        }
        let update = to_json_arg("update_campaign_leads", &Dynamic::from_map(update))?;
        let body = Client::update_body(ids, update);
        if dialer.dry("PUT", crate::api::UPDATE_PATH, &body)? {
            return Ok(Array::new());
        }
        let client = dialer.client.clone();
        let updated = dialer
            .host
            .call(async move { client.update_campaign_leads(&body).await })?;
        Ok(updated.into_iter().map(json_to_dynamic).collect())
    }

    /// Moves leads (by lead id) from one campaign to another, without preserved data.
    ///
    /// ```rhai
    /// td.move_to_campaign([49969], 12, 13);
    /// ```
    #[rhai_fn(name = "move_to_campaign", return_raw, pure)]
    pub fn move_plain(
        dialer: &mut Dialer,
        lead_ids: Array,
        source: INT,
        destination: INT,
    ) -> RhaiResultOf<Array> {
        move_to_campaign(dialer, lead_ids, source, destination, false)
    }

    /// Moves leads between campaigns; with `with_preserve_data` the campaign lead keeps its
    /// calls counter, user, history and status (mapped by name). Returns the campaign leads in
    /// the destination. The sandbox refuses the whole request (422) when a lead already has a
    /// campaign lead in the destination, rather than drop one of the two with its calls;
    /// `recycle::plan` finds such leads first.
    ///
    /// ```rhai
    /// let moved = td.move_to_campaign([49969], 12, 13, true);
    /// print(moved[0].campaign_id);   // 13
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn move_to_campaign(
        dialer: &mut Dialer,
        lead_ids: Array,
        source: INT,
        destination: INT,
        with_preserve_data: bool,
    ) -> RhaiResultOf<Array> {
        let ids = id_list("move_to_campaign", &lead_ids)?;
        let body = Client::move_body(ids, source, destination, with_preserve_data);
        if dialer.dry("PUT", crate::api::MOVE_PATH, &body)? {
            return Ok(Array::new());
        }
        let client = dialer.client.clone();
        let moved = dialer
            .host
            .call(async move { client.move_to_campaign(&body).await })?;
        Ok(moved.into_iter().map(json_to_dynamic).collect())
    }

    /// Every campaign lead whose `field` equals `value` (e.g. `"lead_id"`, `"campaign_id"`).
    ///
    /// ```rhai
    /// let cls = td.campaign_leads("lead_id", 49969);
    /// print(cls[0].status);
    /// ```
    #[rhai_fn(name = "campaign_leads", return_raw, pure)]
    pub fn campaign_leads_by(
        dialer: &mut Dialer,
        field: &str,
        value: Dynamic,
    ) -> RhaiResultOf<Array> {
        search(dialer, Resource::CampaignLeads, field, &value)
    }

    /// Campaign leads as a Query.
    ///
    /// ```rhai
    /// let busy = td.campaign_leads().where("campaign_id", 12).where("calls_count", ">=", 3);
    /// print(busy.count());
    /// ```
    #[rhai_fn(pure)]
    pub fn campaign_leads(dialer: &mut Dialer) -> Query {
        Query::new(dialer.clone(), QuerySpec::new(Resource::CampaignLeads))
    }
}
