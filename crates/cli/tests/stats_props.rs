//! Property tests of the statistics: quantiles are monotone, the mean lies within min..max,
//! merging HDR histograms equals one histogram of all samples, and a failed request never
//! changes a latency distribution.

use proptest::prelude::*;
use servebench_engine::record::{Outcome, Phase, RequestRecord, StreamErrorKind};
use servebench_engine::report::PhaseReport;
use servebench_engine::stats::{HdrSummary, Summary};
use std::time::Duration;

fn samples() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(0.0f64..1000.0, 1..200)
}

fn record(i: u64, ms: u64, outcome: Outcome) -> RequestRecord {
    let ttft = Duration::from_millis(ms);
    RequestRecord {
        outcome,
        ..RequestRecord::streamed(
            "t",
            Phase::Warm,
            i,
            vec![ttft, ttft + Duration::from_millis(10)],
        )
    }
}

proptest! {
    #[test]
    fn quantiles_are_monotone_and_the_mean_is_within_range(v in samples()) {
        let s = Summary::of(v.iter().copied());
        let q = [s.min, s.p50, s.p90, s.p95, s.p99, s.max].map(Option::unwrap);
        prop_assert!(q.windows(2).all(|w| w[0] <= w[1]), "{q:?}");
        let mean = s.mean.unwrap();
        prop_assert!(q[0] - 1e-9 <= mean && mean <= q[5] + 1e-9);
        prop_assert_eq!(s.n, v.len());
    }

    #[test]
    fn merged_histograms_equal_one_histogram_of_all_samples(a in samples(), b in samples()) {
        let (mut ha, mut hb, mut all) = (HdrSummary::default(), HdrSummary::default(), HdrSummary::default());
        a.iter().for_each(|x| { ha.record(x / 1000.0); all.record(x / 1000.0); });
        b.iter().for_each(|x| { hb.record(x / 1000.0); all.record(x / 1000.0); });
        ha.merge(&hb);
        let (m, one) = (ha.summary(), all.summary());
        // Counts, extremes and every quantile exactly; mean and stddev up to rounding.
        prop_assert_eq!((m.n, m.min, m.max), (one.n, one.min, one.max));
        prop_assert_eq!((m.p50, m.p90, m.p95, m.p99), (one.p50, one.p90, one.p95, one.p99));
        let close = |x: Option<f64>, y: Option<f64>| (x.unwrap() - y.unwrap()).abs() <= 1e-9 * (1.0 + y.unwrap().abs());
        prop_assert!(close(m.mean, one.mean) && close(m.stddev, one.stddev), "{m:?} vs {one:?}");
    }

    #[test]
    fn a_failed_request_never_changes_a_latency_distribution(
        ms in prop::collection::vec(1u64..5000, 1..50),
        failures in prop::collection::vec((0usize..50, 0u8..4), 0..10),
    ) {
        let ok: Vec<RequestRecord> = ms.iter().enumerate().map(|(i, m)| record(i as u64, *m, Outcome::Ok)).collect();
        let mut mixed = ok.clone();
        for (k, (at, kind)) in failures.iter().enumerate() {
            let outcome = match kind {
                0 => Outcome::Http(500),
                1 => Outcome::Timeout,
                2 => Outcome::Stream(StreamErrorKind::StreamCut),
                _ => Outcome::Cancelled,
            };
            // Failed requests carry timings too (partial streams): they must not count.
            let f = record(1000 + k as u64, 1 + (*at as u64) * 97, outcome);
            mixed.insert((*at).min(mixed.len()), f);
        }
        let (a, b) = (PhaseReport::from_records(&ok), PhaseReport::from_records(&mixed));
        prop_assert_eq!(&a.ttft_s, &b.ttft_s);
        prop_assert_eq!(&a.e2e_s, &b.e2e_s);
        prop_assert_eq!(&a.itl_s, &b.itl_s);
        prop_assert_eq!(&a.tpot_s, &b.tpot_s);
        prop_assert_eq!(b.failed as usize, failures.len());
        prop_assert_eq!(b.requests, a.requests + failures.len() as u64);
    }
}
