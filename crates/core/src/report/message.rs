//! A sentence for a person kept as data: a catalogue [`Code`] and its values ([`Message`]),
//! so the JSON is the same in every language; [`super::i18n`] puts it in words when a document
//! is rendered.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a [`Message`] says, by catalogue entry.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// The catalogue's `why_interactive`.
    WhyInteractive,
    /// The catalogue's `why_throughput`.
    WhyThroughput,
    /// The catalogue's `why_memory`.
    WhyMemory,
    /// The catalogue's `why_quality`.
    WhyQuality,
    /// The catalogue's `why_missing`.
    WhyMissing,
    /// The catalogue's `what_ttft`.
    WhatTtft,
    /// The catalogue's `phase_cold`.
    PhaseCold,
    /// The catalogue's `phase_warm`.
    PhaseWarm,
    /// The catalogue's `what_gpu_mem`.
    WhatGpuMem,
    /// The catalogue's `what_quality`.
    WhatQuality,
    /// The catalogue's `what_saturation`.
    WhatSaturation,
    /// The catalogue's `what_single_stream`.
    WhatSingleStream,
    /// The catalogue's `what_load_peak`.
    WhatLoadPeak,
    /// The catalogue's `what_load_all`.
    WhatLoadAll,
    /// The catalogue's `why_memory_pct`.
    WhyMemoryPct,
    /// The catalogue's `why_not_significant`.
    WhyNotSignificant,
    /// The catalogue's `same_alike`.
    SameAlike,
    /// The catalogue's `same_quality`.
    SameQuality,
    /// The catalogue's `same_text`.
    SameText,
    /// The catalogue's `same_untested`.
    SameUntested,
    /// The catalogue's `why_quality_tie`.
    WhyQualityTie,
    /// The catalogue's `same_differs_quant`.
    SameDiffersQuant,
    /// The catalogue's `same_differs_server`.
    SameDiffersServer,
    /// The catalogue's `why_untestable`.
    WhyUntestable,
    /// The catalogue's `cav_quant`.
    CavQuant,
    /// The catalogue's `cav_quant_unknown`.
    CavQuantUnknown,
    /// The catalogue's `cav_prompt_cache`.
    CavPromptCache,
    /// The catalogue's `cav_unstable`.
    CavUnstable,
    /// The catalogue's `cav_contradiction`.
    CavContradiction,
    /// The catalogue's `why_unstable`.
    WhyUnstable,
    /// The catalogue's `cav_cpu_starved`.
    CavCpuStarved,
    /// The catalogue's `cav_models`.
    CavModels,
    /// The catalogue's `cav_prealloc`.
    CavPrealloc,
    /// The catalogue's `cav_single_stream`.
    CavSingleStream,
    /// The catalogue's `cav_workload`.
    CavWorkload,
    /// The catalogue's `cav_cold`.
    CavCold,
    /// The catalogue's `cav_fallback`.
    CavFallback,
    /// The catalogue's `cav_no_gpu`.
    CavNoGpu,
    /// The catalogue's `cav_same`.
    CavSame,
    /// The catalogue's `cav_run_level`.
    CavRunLevel,
    /// The catalogue's `cav_repeated_one_side`.
    CavRepeatedOneSide,
    /// The catalogue's `cav_repeat_views`.
    CavRepeatViews,
    /// The catalogue's `cav_fallback_repeat`.
    CavFallbackRepeat,
    /// The catalogue's `cav_failed`.
    CavFailed,
    /// The catalogue's `cav_grader_errors`.
    CavGraderErrors,
    /// The catalogue's `cap_significant`.
    CapSignificant,
    /// The catalogue's `cap_overlap`.
    CapOverlap,
    /// The catalogue's `crossover`.
    Crossover,
    /// The catalogue's `no_crossover`.
    NoCrossover,
    /// The catalogue's `unit_streams`.
    UnitStreams,
    /// The catalogue's `unit_rate`.
    UnitRate,
}

/// A value put into a message: text as it is (a label, a number, an error), or a word of the
/// catalogue, put in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Arg {
    /// Text shown as it is.
    Text(String),
    /// A catalogue word.
    Word {
        /// Which word.
        word: Code,
    },
}

/// A sentence for a person kept as data — a catalogue code and its values — so the JSON is the
/// same in every language and words are chosen only when a document is rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Message {
    /// Which sentence.
    pub code: Code,
    /// Its `{placeholder}` values.
    pub values: BTreeMap<String, Arg>,
}

impl Message {
    /// The sentence `code` with no values yet.
    pub fn new(code: Code) -> Message {
        Message {
            code,
            values: BTreeMap::new(),
        }
    }

    /// With `{key}` set to `text`.
    pub fn with(mut self, key: &str, text: impl Into<String>) -> Message {
        self.values.insert(key.into(), Arg::Text(text.into()));
        self
    }

    /// With `{key}` set to the catalogue word `word`.
    pub fn word(mut self, key: &str, word: Code) -> Message {
        self.values.insert(key.into(), Arg::Word { word });
        self
    }
}
