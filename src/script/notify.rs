//! Saying something to someone: `notify(url, text)` posts `{"text": …}`, the body Slack,
//! Mattermost and Teams incoming webhooks take, and `http_post(url, body, options)` posts any
//! JSON. Only to hosts the script was allowed (`--allow-net`, a profile's `allow_net`), never
//! with the dialer's credentials, redirects not followed, retried within a budget on no answer,
//! 5xx and 429, and traced with `-v` (method, host and path, status; never headers or body).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::plugin::*;
use rhai::{Dynamic, Map};

use super::dialer::HostTag;
use super::{script_error, Host, RhaiResultOf};

use crate::terminal::sink::errln;

/// How long one post keeps being retried, and how long one attempt may take.
const BUDGET: Duration = Duration::from_secs(30);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an answer read (a webhook answers `ok` or a small JSON).
const MAX_ANSWER: usize = 1 << 20;

fn host_of(ctx: &NativeCallContext) -> RhaiResultOf<Arc<Host>> {
    HostTag::of(ctx).ok_or_else(|| script_error("this function needs a running script"))
}

/// A post's outcome: the status and the answer's text.
struct Answer {
    status: u16,
    text: String,
}

async fn post_once(
    client: &reqwest::Client,
    url: &url::Url,
    body: &serde_json::Value,
    headers: &[(String, String)],
) -> Result<Answer, String> {
    let mut request = client.post(url.clone()).json(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let mut response = request.send().await.map_err(|e| {
        let e = e.without_url();
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            text = format!("{text}: {cause}");
            source = cause.source();
        }
        text
    })?;
    let status = response.status().as_u16();
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_ANSWER {
            bytes.truncate(MAX_ANSWER);
            break;
        }
    }
    Ok(Answer {
        status,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// Posts `body` to `url`, retrying an unanswered post, a 5xx or a 429 until [`BUDGET`] is
/// spent; any other answer is final.
fn post(
    ctx: &NativeCallContext,
    what: &str,
    url: &str,
    body: serde_json::Value,
    headers: Vec<(String, String)>,
) -> RhaiResultOf<Answer> {
    let host = host_of(ctx)?;
    let parsed = url::Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| script_error(format!("{what}: '{url}' is not an http or https URL")))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(script_error(format!(
            "{what}: a URL with credentials inside is refused (it would be printed and logged); pass them in headers"
        )));
    }
    host.powers().check_net(what, &parsed)?;
    if host.dry_run() {
        // Rehearsing rules must not alert anyone about changes that were not made.
        errln!(
            "dry-run: POST {} {}",
            &parsed[..url::Position::AfterPath],
            crate::terminal::sanitize::for_one_line(&body.to_string())
        );
        return Ok(Answer {
            status: 0,
            text: String::new(),
        });
    }
    // No query: webhook tokens often travel there.
    let shown = parsed[..url::Position::AfterPath].to_string();
    crate::api::tls_ready();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ATTEMPT_TIMEOUT)
        .user_agent(concat!("tdc/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| script_error(format!("{what}: {e}")))?;
    let verbose = host.verbose();
    let outcome = host.block_on(async {
        let started = Instant::now();
        let mut wait = Duration::from_millis(500);
        loop {
            if verbose {
                errln!("tdc: > POST {shown} ({what})");
            }
            let attempt = post_once(&client, &parsed, &body, &headers).await;
            let retry = match &attempt {
                Ok(answer) => answer.status == 429 || answer.status >= 500,
                Err(_) => true,
            };
            if verbose {
                match &attempt {
                    Ok(answer) => errln!("tdc: < {} {shown}", answer.status),
                    Err(error) => errln!("tdc: < {shown}: {error}"),
                }
            }
            if !retry || started.elapsed() + wait > BUDGET {
                return attempt;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(8));
        }
    });
    let answer = match outcome {
        None => return Err(super::terminated()),
        Some(Err(error)) => {
            return Err(failure(what, &shown, None, &format!("no answer: {error}")));
        }
        Some(Ok(answer)) => answer,
    };
    if !(200..300).contains(&answer.status) {
        let message = match answer.status {
            300..=399 => format!("{} redirected; redirects are not followed", answer.status),
            status => format!(
                "{status} from the server: {}",
                answer.text.chars().take(200).collect::<String>()
            ),
        };
        return Err(failure(what, &shown, Some(answer.status), &message));
    }
    Ok(answer)
}

/// A failed post as a script catches it: `#{status, endpoint, message}`, like a dialer's.
fn failure(what: &str, endpoint: &str, status: Option<u16>, message: &str) -> Box<EvalAltResult> {
    let mut map = Map::new();
    map.insert(
        "status".into(),
        status.map_or(Dynamic::UNIT, |s| Dynamic::from_int(s.into())),
    );
    map.insert("endpoint".into(), format!("POST {endpoint}").into());
    map.insert(
        "message".into(),
        format!(
            "{what}: {}",
            crate::terminal::sanitize::for_terminal(message)
        )
        .into(),
    );
    EvalAltResult::ErrorRuntime(Dynamic::from_map(map), rhai::Position::NONE).into()
}

fn headers_of(what: &str, options: &Map) -> RhaiResultOf<Vec<(String, String)>> {
    if let Some(unknown) = options.keys().find(|k| k.as_str() != "headers") {
        return Err(script_error(format!(
            "{what}: unknown option '{unknown}' (the option is headers)"
        )));
    }
    let Some(headers) = options.get("headers") else {
        return Ok(Vec::new());
    };
    let headers = headers
        .read_lock::<Map>()
        .ok_or_else(|| script_error(format!("{what}: headers is a map of names to texts")))?;
    headers
        .iter()
        .map(|(name, value)| {
            let value = value.to_string();
            let valid = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
                && reqwest::header::HeaderValue::from_str(&value).is_ok();
            if valid {
                Ok((name.to_string(), value))
            } else {
                Err(script_error(format!(
                    "{what}: header '{name}' is not a valid HTTP header"
                )))
            }
        })
        .collect()
}

#[export_module]
pub mod notify_api {
    use super::*;

    /// Posts `text` to an incoming webhook as `{"text": …}` (Slack, Mattermost, Microsoft
    /// Teams). The webhook's host must be allowed (`--allow-net HOST`); the dialer's
    /// credentials are never sent. A post that gets no answer, a 5xx or a 429 is retried for
    /// up to 30 s; a failure is a catchable error `#{status, endpoint, message}`. Under
    /// `--dry-run` the post is printed, not sent.
    ///
    /// ```rhai
    /// notify("https://hooks.slack.com/services/T000/B000/XXXX", "ASR under 25 % in campaign 12");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn notify(ctx: NativeCallContext, url: &str, text: &str) -> RhaiResultOf<()> {
        post(
            &ctx,
            "notify",
            url,
            serde_json::json!({ "text": text }),
            Vec::new(),
        )
        .map(drop)
    }

    /// Posts `body` as JSON to `url` and returns `#{status, body}` (the answer parsed as JSON
    /// when it is JSON, else its text). Options: `headers` (a map). The host must be allowed
    /// (`--allow-net HOST`); the dialer's credentials are never sent; retried as `notify` is.
    /// Under `--dry-run` the post is printed, not sent, and both are `()`.
    ///
    /// ```rhai
    /// let answer = http_post("https://events.example.com/v1/alerts",
    ///                        #{ severity: "warning", summary: "campaign 12 ASR low" },
    ///                        #{ headers: #{ "X-Api-Key": "…" } });
    /// print(answer.status);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn http_post(
        ctx: NativeCallContext,
        url: &str,
        body: Dynamic,
        options: Map,
    ) -> RhaiResultOf<Map> {
        let headers = headers_of("http_post", &options)?;
        let body = super::super::dynamic_to_json(&body)
            .map_err(|e| script_error(format!("http_post: the body is not JSON: {e}")))?;
        let answer = post(&ctx, "http_post", url, body, headers)?;
        let mut out = Map::new();
        // Under --dry-run nothing was sent: no status, no body.
        if answer.status == 0 {
            out.insert("status".into(), Dynamic::UNIT);
            out.insert("body".into(), Dynamic::UNIT);
            return Ok(out);
        }
        out.insert("status".into(), Dynamic::from_int(answer.status.into()));
        let body = match serde_json::from_str::<serde_json::Value>(&answer.text) {
            Ok(json) => super::super::json_to_dynamic(json),
            Err(_) => Dynamic::from(answer.text),
        };
        out.insert("body".into(), body);
        Ok(out)
    }

    /// Posts `body` as JSON to `url` (see `http_post(url, body, options)`).
    ///
    /// ```rhai
    /// http_post("https://events.example.com/v1/alerts", #{ summary: "import done" });
    /// ```
    #[rhai_fn(name = "http_post", return_raw)]
    pub fn http_post_plain(ctx: NativeCallContext, url: &str, body: Dynamic) -> RhaiResultOf<Map> {
        http_post(ctx, url, body, Map::new())
    }
}
