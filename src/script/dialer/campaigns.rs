//! Campaigns: the list, one by id, and `clone_campaign`; the client side is `api::campaigns`.

use rhai::plugin::*;

use super::*;

#[export_module]
pub mod campaigns_api {
    use super::*;

    /// Clones a campaign with its settings, statuses and rules; returns the new campaign.
    ///
    /// ```rhai
    /// let camp = td.clone_campaign(12);
    /// print(camp.name);   // "[clone of] Campaign 12"
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn clone_campaign(dialer: &mut Dialer, campaign_id: INT) -> RhaiResultOf<Map> {
        clone_with_caller_id(dialer, campaign_id, Dynamic::UNIT)
    }

    /// Clones a campaign and sets its `default_caller_id` (text or INT).
    ///
    /// ```rhai
    /// let camp = td.clone_campaign(12, "123456789");
    /// ```
    #[rhai_fn(name = "clone_campaign", return_raw, pure)]
    pub fn clone_with_caller_id(
        dialer: &mut Dialer,
        campaign_id: INT,
        default_caller_id: Dynamic,
    ) -> RhaiResultOf<Map> {
        let caller_id = if default_caller_id.is_unit() {
            None
        } else {
            Some(text_of(&default_caller_id)?)
        };
        let body = Client::clone_body(campaign_id, caller_id.as_deref());
        if dialer.dry("GET", crate::api::CLONE_PATH, &body)? {
            return Ok(Map::new());
        }
        let client = dialer.client.clone();
        let campaign = dialer
            .host
            .call(async move { client.clone_campaign(&body).await })?;
        Ok(json_to_dynamic(campaign)
            .try_cast::<Map>()
            .unwrap_or_default())
    }

    /// Every campaign, each with its `statuses`.
    ///
    /// ```rhai
    /// for c in td.campaigns() { print(`${c.id} ${c.name}`); }
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn campaigns(dialer: &mut Dialer) -> RhaiResultOf<Array> {
        dialer.list_all(QuerySpec::new(Resource::Campaigns))
    }

    /// One campaign by id, with its `statuses`; an error if there is none.
    ///
    /// ```rhai
    /// print(td.campaign(12).statuses);
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn campaign(dialer: &mut Dialer, id: INT) -> RhaiResultOf<Map> {
        let found = search(dialer, Resource::Campaigns, "id", &Dynamic::from_int(id))?;
        match found.into_iter().next() {
            Some(campaign) => Ok(campaign.try_cast::<Map>().unwrap_or_default()),
            None => Err(api_error(ApiError::status(
                "GET",
                &format!("/api/campaigns/id/{id}/"),
                404,
                format!("campaign {id} does not exist"),
            ))),
        }
    }
}
