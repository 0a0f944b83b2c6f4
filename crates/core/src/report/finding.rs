//! What a workload's numbers show, kept as data: a [`Finding`] is a code and its values, and
//! the words are chosen only when a document is rendered, in English or Korean. The JSON holds
//! no prose (a report written before findings were typed keeps its sentences as
//! [`FindingCode::Text`], shown as they are).

use super::lang::{Lang, fill};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which finding.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FindingCode {
    /// An open-loop step's sends fell behind schedule: `rate`, `lag_s`, `span_s`, `pct`.
    BehindSchedule,
    /// The suffix probe got the same answer for two suffixes: `answer`.
    SuffixIgnored,
    /// Sessions: the server stated no cached prompt tokens.
    CacheUnknown,
    /// Sessions: the cache findings rest on an estimate from prompt-evaluation time: `rate`.
    CacheEstimated,
    /// Sessions: later turns reused almost none of their history: `reused`, `reusable`, `pct`.
    HistoryReprocessed,
    /// Sessions: later turns reused far less history than they could: `pct`, `reused`,
    /// `reusable`.
    HistoryReuseLow,
    /// Sessions: more sessions than slots, history re-read: `sessions`, `slots`, `misses`,
    /// `later`.
    CacheThrashing,
    /// Sessions: history re-read on many later turns: `misses`, `later`.
    HistoryReread,
    /// Sessions: the shared repository context was read again: `misses`, `turns`, `tokens`.
    ContextNotShared,
    /// Sessions: turns refused as too long: `n`.
    TurnsRefused,
    /// Sessions: turns refused as too long, the longest known: `n`, `tokens`.
    TurnsRefusedUpTo,
    /// Sessions: turns counted shorter than sent (a silent cut): `n`, `tokens`.
    TurnsTruncated,
    /// Sessions: sessions still running when the phase ended: `n`.
    SessionsCut,
    /// Sessions: the source ran out before the phase's duration: `started`, `duration_s`.
    SourceExhausted,
    /// Ladder: prompts cut silently to the server's context (`num_ctx`): `over`, `n`,
    /// `steps`.
    LadderCutSilently,
    /// Ladder: the server counted far fewer prompt tokens than sent: `steps`, `n`.
    LadderTruncated,
    /// Ladder: requests refused as longer than the context: `n`.
    LadderRefused,
    /// A sentence of a report written before findings were typed: `text`, shown as it is.
    Text,
}

/// One finding: its code and values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    /// Which finding.
    pub code: FindingCode,
    /// Its `{placeholder}` values (numbers as text, as they are shown).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
}

impl Finding {
    /// The finding `code` with no values yet.
    pub fn new(code: FindingCode) -> Finding {
        Finding {
            code,
            values: BTreeMap::new(),
        }
    }

    /// With `{key}` set to `value`.
    pub fn with(mut self, key: &str, value: impl ToString) -> Finding {
        self.values.insert(key.into(), value.to_string());
        self
    }

    /// A sentence kept from an older report.
    pub fn text(text: impl Into<String>) -> Finding {
        Finding::new(FindingCode::Text).with("text", text.into())
    }

    /// The finding in `lang`.
    pub fn render(&self, lang: Lang) -> String {
        let vars: Vec<(&str, &str)> = self
            .values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        fill(template(self.code, lang), &vars)
    }
}

/// The sentence of `code` in `lang`, with `{placeholders}`.
pub fn template(code: FindingCode, lang: Lang) -> &'static str {
    use FindingCode::*;
    match (code, lang) {
        (BehindSchedule, Lang::En) => {
            "the client could not sustain {rate} req/s: it fell {lag_s} s behind a {span_s} s schedule (over {pct} %); latencies from schedule include the delay"
        }
        (BehindSchedule, Lang::Ko) => {
            "클라이언트가 {rate} req/s를 유지하지 못했습니다: {span_s}초 일정에서 {lag_s}초 뒤처졌습니다({pct}% 초과). 일정 기준 지연 시간에 이 지연이 포함됩니다"
        }
        (SuffixIgnored, Lang::En) => {
            "the suffix probe got the same answer twice ({answer}): the server (or model) ignores the suffix"
        }
        (SuffixIgnored, Lang::Ko) => {
            "접미사 검사에서 같은 답이 두 번 나왔습니다({answer}): 서버(또는 모델)가 접미사를 무시합니다"
        }
        (CacheUnknown, Lang::En) => {
            "the server reported no cached prompt tokens, so its prompt-cache use is unknown (vLLM says it only with --enable-prompt-tokens-details)"
        }
        (CacheUnknown, Lang::Ko) => {
            "서버가 캐시된 프롬프트 토큰 수를 알려주지 않아 프롬프트 캐시 사용량을 알 수 없습니다(vLLM은 --enable-prompt-tokens-details에서만 알려줍니다)"
        }
        (CacheEstimated, Lang::En) => {
            "the cache use above is estimated from the prompt-evaluation time against an uncached {rate} tok/s: the server reports no cached count"
        }
        (CacheEstimated, Lang::Ko) => {
            "위의 캐시 사용량은 캐시되지 않은 {rate} tok/s 대비 프롬프트 평가 시간으로 추정했습니다: 서버가 캐시된 토큰 수를 알려주지 않습니다"
        }
        (HistoryReprocessed, Lang::En) => {
            "re-processed the whole history every turn: turns 2 and later took {reused} of {reusable} reusable tokens from the cache ({pct} %)"
        }
        (HistoryReprocessed, Lang::Ko) => {
            "매 턴마다 대화 전체를 다시 처리했습니다: 2번째 이후 턴이 재사용 가능한 {reusable} 토큰 중 {reused} 토큰만 캐시에서 가져왔습니다({pct}%)"
        }
        (HistoryReuseLow, Lang::En) => {
            "the cache hit rate is far below what the shared prefix allows: turns 2 and later reused {pct} % of their history ({reused} of {reusable} tokens)"
        }
        (HistoryReuseLow, Lang::Ko) => {
            "캐시 적중률이 공유 접두사가 허용하는 수준보다 훨씬 낮습니다: 2번째 이후 턴이 대화 기록의 {pct}%만 재사용했습니다({reusable} 토큰 중 {reused} 토큰)"
        }
        (CacheThrashing, Lang::En) => {
            "{sessions} sessions at once on {slots} server slots: on {misses} of {later} later turns the server re-read part of the conversation — a session's slot had been taken by another session in between (cache thrashing); more slots (--parallel) or fewer sessions per server keep the history cached"
        }
        (CacheThrashing, Lang::Ko) => {
            "서버 슬롯 {slots}개에 세션 {sessions}개를 동시에 실행: 이후 턴 {later}개 중 {misses}개에서 서버가 대화 일부를 다시 읽었습니다 — 그 사이 다른 세션이 슬롯을 차지했습니다(캐시 스래싱). 슬롯을 늘리거나(--parallel) 서버당 세션을 줄이면 대화 기록이 캐시에 남습니다"
        }
        (HistoryReread, Lang::En) => {
            "on {misses} of {later} later turns the server re-read part of the conversation (under 95 % of the history came from the cache)"
        }
        (HistoryReread, Lang::Ko) => {
            "이후 턴 {later}개 중 {misses}개에서 서버가 대화 일부를 다시 읽었습니다(대화 기록의 95% 미만이 캐시에서 왔습니다)"
        }
        (ContextNotShared, Lang::En) => {
            "the cache hit rate is far below what the shared prefix allows: on {misses} of {turns} first turns sent after another session had read the shared repository context, the server read it again (under half of its {tokens} tokens came from the cache) — its sessions do not share the cached context"
        }
        (ContextNotShared, Lang::Ko) => {
            "캐시 적중률이 공유 접두사가 허용하는 수준보다 훨씬 낮습니다: 다른 세션이 공유 저장소 컨텍스트를 읽은 뒤 보낸 첫 턴 {turns}개 중 {misses}개에서 서버가 그것을 다시 읽었습니다({tokens} 토큰 중 절반 미만이 캐시에서 왔습니다) — 세션들이 캐시된 컨텍스트를 공유하지 못합니다"
        }
        (TurnsRefused, Lang::En) => {
            "{n} turns were refused as longer than the server's context: their sessions ended there"
        }
        (TurnsRefused, Lang::Ko) => {
            "턴 {n}개가 서버 컨텍스트보다 길어 거부되었습니다: 해당 세션은 거기서 끝났습니다"
        }
        (TurnsRefusedUpTo, Lang::En) => {
            "{n} turns were refused as longer than the server's context (up to {tokens} prompt tokens): their sessions ended there"
        }
        (TurnsRefusedUpTo, Lang::Ko) => {
            "턴 {n}개가 서버 컨텍스트보다 길어 거부되었습니다(최대 {tokens} 프롬프트 토큰): 해당 세션은 거기서 끝났습니다"
        }
        (TurnsTruncated, Lang::En) => {
            "{n} turns were counted shorter than what they send (the context, or the history and a new message; at most {tokens} prompt tokens): the server cut the conversation — Ollama drops messages and tokens beyond num_ctx without saying so; set num_ctx (extra_body = { options = { num_ctx = … } })"
        }
        (TurnsTruncated, Lang::Ko) => {
            "턴 {n}개가 보낸 것보다 짧게 계산되었습니다(최대 {tokens} 프롬프트 토큰): 서버가 대화를 잘랐습니다 — Ollama는 num_ctx를 넘는 메시지와 토큰을 알리지 않고 버립니다. num_ctx를 설정하세요(extra_body = { options = { num_ctx = … } })"
        }
        (SessionsCut, Lang::En) => {
            "{n} sessions were still running when the run ended (--duration): their later turns were not sent"
        }
        (SessionsCut, Lang::Ko) => {
            "실행이 끝날 때(--duration) 세션 {n}개가 아직 진행 중이었습니다: 이후 턴은 보내지 않았습니다"
        }
        (SourceExhausted, Lang::En) => {
            "every one of the source's {started} sessions had ended before --duration ({duration_s} s) was up: the phase is shorter than asked (more sessions: --session-count, or a larger file)"
        }
        (SourceExhausted, Lang::Ko) => {
            "--duration({duration_s}초)이 끝나기 전에 원본의 세션 {started}개가 모두 끝났습니다: 단계가 요청보다 짧습니다(세션을 늘리려면 --session-count 또는 더 큰 파일)"
        }
        (LadderCutSilently, Lang::En) => {
            "prompts over {over} tokens were cut to {n} (Ollama num_ctx; recent Ollama keeps about half of it) at the {steps} steps: set num_ctx, e.g. extra_body = { options = { num_ctx = 32768 } }, or truncate = false to have it refuse instead; the TTFT and prefill rate of those steps measure the cut prompt, not the one sent"
        }
        (LadderCutSilently, Lang::Ko) => {
            "{steps} 단계에서 {over} 토큰을 넘는 프롬프트가 {n} 토큰으로 잘렸습니다(Ollama num_ctx). num_ctx를 설정하거나(예: extra_body = { options = { num_ctx = 32768 } }) truncate = false로 거부하게 하세요. 해당 단계의 TTFT와 프리필 속도는 보낸 프롬프트가 아니라 잘린 프롬프트를 잰 것입니다"
        }
        (LadderTruncated, Lang::En) => {
            "the server counted far fewer prompt tokens than were sent at the {steps} steps (at most {n}): it truncated the prompt, so the TTFT and prefill rate of those steps measure the cut prompt"
        }
        (LadderTruncated, Lang::Ko) => {
            "{steps} 단계에서 서버가 보낸 것보다 훨씬 적은 프롬프트 토큰을 셌습니다(최대 {n}): 프롬프트를 잘랐으므로 해당 단계의 TTFT와 프리필 속도는 잘린 프롬프트를 잰 것입니다"
        }
        (LadderRefused, Lang::En) => {
            "{n} requests were refused as longer than the server's context (context_exceeded)"
        }
        (LadderRefused, Lang::Ko) => {
            "요청 {n}개가 서버 컨텍스트보다 길어 거부되었습니다(context_exceeded)"
        }
        (Text, _) => "{text}",
    }
}

/// `findings` in `lang`, one sentence each.
pub fn render_all(findings: &[Finding], lang: Lang) -> Vec<String> {
    findings.iter().map(|f| f.render(lang)).collect()
}

/// Add `f` unless an equal finding is there (a report rebuilt from a finished one already
/// holds its findings among the facts: each is said once).
pub fn push_once(into: &mut Vec<Finding>, f: Finding) {
    if !into.contains(&f) {
        into.push(f);
    }
}

/// `findings` in English (the tests' reading of them).
#[cfg(test)]
pub(crate) fn en(findings: &[Finding]) -> Vec<String> {
    render_all(findings, Lang::En)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code, for the catalogue checks.
    const ALL: [FindingCode; 18] = [
        FindingCode::BehindSchedule,
        FindingCode::SuffixIgnored,
        FindingCode::CacheUnknown,
        FindingCode::CacheEstimated,
        FindingCode::HistoryReprocessed,
        FindingCode::HistoryReuseLow,
        FindingCode::CacheThrashing,
        FindingCode::HistoryReread,
        FindingCode::ContextNotShared,
        FindingCode::TurnsRefused,
        FindingCode::TurnsRefusedUpTo,
        FindingCode::TurnsTruncated,
        FindingCode::SessionsCut,
        FindingCode::SourceExhausted,
        FindingCode::LadderCutSilently,
        FindingCode::LadderTruncated,
        FindingCode::LadderRefused,
        FindingCode::Text,
    ];

    fn placeholders(s: &str) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        let mut rest = s;
        while let Some(i) = rest.find('{') {
            let after = &rest[i + 1..];
            match after.find('}') {
                Some(j)
                    if after[..j]
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_') =>
                {
                    out.insert(after[..j].to_string());
                    rest = &after[j + 1..];
                }
                _ => rest = after,
            }
        }
        out
    }

    #[test]
    fn each_code_has_both_languages_with_the_same_placeholders() {
        for code in ALL {
            let (en, ko) = (template(code, Lang::En), template(code, Lang::Ko));
            assert_eq!(placeholders(en), placeholders(ko), "{code:?}");
            if code != FindingCode::Text {
                assert_ne!(en, ko, "{code:?} has no Korean");
                assert!(ko.chars().any(|c| ('가'..='힣').contains(&c)), "{code:?}");
            }
        }
    }

    #[test]
    fn a_finding_is_data_in_json_and_words_when_rendered() {
        let f = Finding::new(FindingCode::SessionsCut).with("n", 2);
        let j = serde_json::to_string(&f).unwrap();
        assert_eq!(j, r#"{"code":"sessions_cut","values":{"n":"2"}}"#);
        assert!(
            f.render(Lang::En)
                .starts_with("2 sessions were still running")
        );
        assert!(f.render(Lang::Ko).contains("세션 2개"));
        assert_eq!(Finding::text("as it was").render(Lang::Ko), "as it was");
    }
}
