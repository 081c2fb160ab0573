//! The escape hatch: `td.get`, `td.put` and `td.post` on any path of the API, guarded like
//! every other call (`api::raw_path` checks the path as it will be sent).

use rhai::plugin::*;

use super::*;

#[export_module]
pub mod raw_api {
    use super::*;

    /// `GET` any API path; the answer as Rhai values (numeric-string rule applied).
    ///
    /// ```rhai
    /// let page = td.get("/api/cdrs?limit=5;0");
    /// ```
    #[rhai_fn(name = "get", return_raw, pure)]
    pub fn raw_get(dialer: &mut Dialer, path: &str) -> RhaiResultOf<Dynamic> {
        raw_get_params(dialer, path, Map::new())
    }

    /// `GET` any API path with query parameters from a map.
    ///
    /// ```rhai
    /// let page = td.get("/api/cdrs", #{ limit: "5;0", fields: "id;status" });
    /// ```
    #[rhai_fn(name = "get", return_raw, pure)]
    pub fn raw_get_params(dialer: &mut Dialer, path: &str, params: Map) -> RhaiResultOf<Dynamic> {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params.iter() {
            pairs.append_pair(k, &text_of(v)?);
        }
        let query = pairs.finish();
        let full = if query.is_empty() {
            path.to_string()
        } else if path.contains('?') {
            format!("{path}&{query}")
        } else {
            format!("{path}?{query}")
        };
        let path = raw_path(dialer, "get", &full)?;
        // A GET that changes the dialer (the guide's clone) is a write: dry-run and the
        // confirmation apply to it as to any other.
        if path.changes_state() && dialer.dry("GET", path.as_str(), &Value::Null)? {
            return Ok(Dynamic::UNIT);
        }
        let client = dialer.client.clone();
        let answer = dialer
            .host
            .call(async move { client.get_raw(&path).await })?;
        Ok(json_to_dynamic(answer))
    }

    /// `PUT` a JSON body to any API path (sent once, never retried).
    ///
    /// ```rhai
    /// td.put("/api/campaign-leads/mass-assign", #{ where: #{ id: [1] }, campaign_id: 12 });
    /// ```
    #[rhai_fn(name = "put", return_raw, pure)]
    pub fn raw_put(dialer: &mut Dialer, path: &str, body: Dynamic) -> RhaiResultOf<Dynamic> {
        raw_send(dialer, reqwest::Method::PUT, path, &body)
    }

    /// `POST` a JSON body to any API path (sent once, never retried).
    ///
    /// ```rhai
    /// td.post("/api/leads", [#{ phone: "447700005555" }]);
    /// ```
    #[rhai_fn(name = "post", return_raw, pure)]
    pub fn raw_post(dialer: &mut Dialer, path: &str, body: Dynamic) -> RhaiResultOf<Dynamic> {
        raw_send(dialer, reqwest::Method::POST, path, &body)
    }
}

/// A raw path as it will be sent, or the script's error saying what is wrong with it.
fn raw_path(dialer: &Dialer, function: &str, raw: &str) -> RhaiResultOf<crate::api::RawPath> {
    dialer
        .client
        .raw_path(raw)
        .map_err(|e| script_error(format!("td.{function}: {e}")))
}

fn raw_send(
    dialer: &mut Dialer,
    method: reqwest::Method,
    path: &str,
    body: &Dynamic,
) -> RhaiResultOf<Dynamic> {
    let path = raw_path(dialer, &method.as_str().to_ascii_lowercase(), path)?;
    let body = to_json_arg(method.as_str(), body)?;
    if dialer.dry(method.as_str(), path.as_str(), &body)? {
        return Ok(Dynamic::UNIT);
    }
    let client = dialer.client.clone();
    let answer = dialer
        .host
        .call(async move { client.send_raw(method, &path, &body).await })?;
    Ok(json_to_dynamic(answer))
}
