//! Call recordings: one (`recording`) or many to a folder (`download_recordings`); the client
//! side is `api::calls`.

use rhai::plugin::*;

use super::*;

#[export_module]
pub mod recordings_api {
    use super::*;

    /// A call's recording (FLAC).
    ///
    /// ```rhai
    /// let rec = td.recording(45475);
    /// rec.save("45475.flac");
    /// print(rec.info().seconds);
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn recording(dialer: &mut Dialer, call_id: INT) -> RhaiResultOf<Recording> {
        let client = dialer.client.clone();
        let bytes = dialer
            .host
            .call(async move { client.recording(call_id).await })?;
        Ok(Recording::new(call_id, bytes))
    }

    /// Downloads the recordings of calls into `folder` as `<call id>.flac`, a few at a time
    /// (option `concurrency`, default the connection's). `calls` holds call ids, or call maps
    /// with `id` and `call_bill_duration`. A file already there is kept only when it is whole:
    /// every FLAC frame decodes (each is CRC-checked), the samples add up to the header's
    /// length, and that length is the call's billed seconds (within one) when given; a
    /// truncated, empty or damaged file is fetched again. Each file is written under a
    /// temporary name and renamed. Returns `#{files, bytes, seconds, skipped, repaired,
    /// failed}`; `failed` lists `#{call_id, message}` (e.g. calls that were not answered have
    /// no recording).
    ///
    /// ```rhai
    /// let calls = td.calls().where("call_bill_duration", ">", 60).fields(["id", "call_bill_duration"]).limit(5).to_array();
    /// let summary = td.download_recordings(calls, "recordings", #{ concurrency: 4 });
    /// print(`${summary.files} files, ${summary.seconds} s of audio, ${summary.repaired} repaired`);
    /// ```
    #[rhai_fn(return_raw, pure)]
    pub fn download_recordings(
        dialer: &mut Dialer,
        call_ids: Array,
        folder: &str,
        options: Map,
    ) -> RhaiResultOf<Map> {
        let concurrency = match options.get("concurrency") {
            None => dialer.client.concurrency(),
            Some(n) => n
                .as_int()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| {
                    script_error("download_recordings: concurrency must be a positive INT")
                })?,
        };
        let wanted = call_ids
            .iter()
            .map(|call| {
                if let Some(map) = call.read_lock::<Map>() {
                    let call_id =
                        map.get("id")
                            .and_then(|id| id.as_int().ok())
                            .ok_or_else(|| {
                                script_error("download_recordings: a call map needs an INT id")
                            })?;
                    let billed_seconds = map.get("call_bill_duration").and_then(|s| {
                        s.as_int()
                            .ok()
                            .map(|n| n as f64)
                            .or_else(|| s.as_float().ok())
                    });
                    return Ok(crate::script::recording::Wanted {
                        call_id,
                        billed_seconds,
                    });
                }
                call.as_int()
                    .map(|call_id| crate::script::recording::Wanted {
                        call_id,
                        billed_seconds: None,
                    })
                    .map_err(|t| {
                        script_error(format!(
                            "download_recordings: calls are call ids (INTs) or call maps, got a {t}"
                        ))
                    })
            })
            .collect::<RhaiResultOf<Vec<_>>>()?;
        let folder = std::path::PathBuf::from(folder);
        let powers = dialer.host.powers().clone();
        let access = crate::files::Access::bounded(&powers, "download_recordings");
        crate::files::create_dir_all(access, &folder)?;
        let client = dialer.client.clone();
        let outcomes = dialer
            .host
            .block_on(crate::script::recording::download_all(
                client,
                wanted,
                folder,
                concurrency,
                powers.clone(),
            ))
            .ok_or_else(crate::script::terminated)?;
        Ok(outcomes)
    }
}
