//! Attribution of a whole suspect set: which known corpus it was most likely copied from, with
//! the evidence: per corpus the containment (share of suspect records found there) with its 95%
//! confidence interval, exclusive containment, how often it holds a record's best match, field
//! agreement and schema overlap; canary records met; records found nowhere; a verdict in words.

use super::error::QueryError;
use super::index::Index;
use super::r#match::{FieldEvidence, MatchOptions, RecordMatch, Suspect, match_records};
use crate::catalog::CorpusKind;
use crate::ingest::Kind;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// 1.96: the normal quantile of a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;
/// Examples of matched records kept for the report.
const EXAMPLES: usize = 12;
/// Unmatched records listed by location.
const UNMATCHED_LISTED: usize = 50;
/// Canary hits listed (all are counted).
const CANARIES_LISTED: usize = 1000;
/// Suspect field names kept for the schema overlap (a set's own names are few; a caller's
/// stream could send new ones with every record).
const FIELD_NAMES_KEPT: usize = 1000;
/// Resolution of the evidence counted for medians, in bits: values a thousandth of a bit apart
/// are counted together, so the count stays bounded (the model is learned per chunk, so every
/// chunk brings values of its own) and the median is exact to 0.001 bit.
const TALLY_RESOLUTION_BITS: f64 = 1e-3;
/// Width of a bin of the evidence histogram, in bits.
pub const EVIDENCE_BIN_BITS: f64 = 10.0;

/// Wilson score interval of a proportion at 95%: unlike the normal approximation it stays inside
/// [0, 1] and is honest for small samples and for proportions near 0 or 1.
pub fn wilson_interval(successes: usize, trials: usize) -> [f64; 2] {
    if trials == 0 {
        return [0.0, 1.0];
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    [(center - half).max(0.0), (center + half).min(1.0)]
}

/// What one known corpus explains of the suspect set.
#[derive(Clone, Debug, Serialize)]
pub struct CorpusAttribution {
    pub corpus: String,
    pub kind: CorpusKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acquired: Option<String>,
    /// Share of suspect records with a match in this corpus.
    pub containment: f64,
    pub ci95: [f64; 2],
    /// Share of suspect records matched here and in no other corpus.
    pub exclusive: f64,
    pub matched: usize,
    /// Suspect records whose best match is here.
    pub ranked_first: usize,
    pub ranked_first_share: f64,
    pub ranked_first_ci95: [f64; 2],
    /// Mean number of suspect fields that agree with the best match here, over matched records.
    pub agreeing_fields: f64,
    /// Median evidence (bits) of the records whose best match is here: log2 of how much likelier
    /// their agreement is for copies of one person's record than for two people's.
    pub median_bits: f64,
    /// Suspect fields whose kind this corpus holds.
    pub schema_overlap: Vec<String>,
}

/// A canary record met: conclusive evidence of which copy leaked.
#[derive(Clone, Debug, Serialize)]
pub struct CanaryHit {
    pub canary: String,
    /// The distributed copy the canary was planted in.
    pub copy: String,
    pub suspect_file: String,
    pub suspect_line: u64,
    pub canary_record: u64,
    pub score: f64,
}

/// Suspect records found in both corpora.
#[derive(Clone, Debug, Serialize)]
pub struct Overlap {
    pub a: String,
    pub b: String,
    pub records: usize,
}

/// A matched suspect record beside its best source record.
#[derive(Clone, Debug, Serialize)]
pub struct Example {
    pub suspect_file: String,
    pub suspect_line: u64,
    pub suspect: Vec<(String, String)>,
    pub corpus: String,
    pub file: String,
    pub record: u64,
    pub line: u64,
    pub score: f64,
    /// Evidence in bits, and each comparison's share of it.
    pub bits: f64,
    pub evidence: Vec<FieldEvidence>,
    pub agreeing: Vec<String>,
    pub disagreeing: Vec<String>,
    pub source: Vec<(String, String)>,
}

/// A suspect record by location.
#[derive(Clone, Debug, Serialize)]
pub struct RecordRef {
    pub record: usize,
    pub file: String,
    pub line: u64,
}

/// The attribution report of a suspect set.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub records: usize,
    pub matched: usize,
    pub unmatched: usize,
    /// Known corpora, most likely source first.
    pub corpora: Vec<CorpusAttribution>,
    /// Suspect records that match canary records, the first [`CANARIES_LISTED`] of them.
    pub canaries: Vec<CanaryHit>,
    /// How many suspect records match canary records, listed or not.
    pub canary_matches: usize,
    pub verdict: String,
    /// Corpora holding suspect records, by acquisition date (undated ones left out): who held
    /// these records first. (date, corpus).
    pub timeline: Vec<(String, String)>,
    pub overlaps: Vec<Overlap>,
    /// Best match scores of matched records in ten bins of width 0.1 (most fall in the last).
    pub score_histogram: [usize; 10],
    /// Evidence of matched records' best matches in bits, in bins of [`EVIDENCE_BIN_BITS`]
    /// (the last open-ended): how strongly the set matches, which scores near 1.0 hide.
    pub evidence_histogram: [usize; 10],
    pub unmatched_records: Vec<RecordRef>,
    pub examples: Vec<Example>,
    /// Suspect input that could not be read (file:line: why).
    pub problems: Vec<String>,
}

/// Counts of values at [`TALLY_RESOLUTION_BITS`], for a median whose memory is bounded by the
/// values' range, not by their number.
#[derive(Default)]
struct Tally {
    counts: BTreeMap<u64, usize>,
    total: usize,
}

impl Tally {
    /// A key whose order is `f64::total_cmp`'s.
    fn key(value: f64) -> u64 {
        let bits = value.to_bits();
        if bits >> 63 == 1 { !bits } else { bits | 1 << 63 }
    }

    fn add(&mut self, value: f64) {
        let rounded = (value / TALLY_RESOLUTION_BITS).round() * TALLY_RESOLUTION_BITS;
        *self.counts.entry(Self::key(rounded)).or_default() += 1;
        self.total += 1;
    }

    /// The middle value (the upper of the two middle ones of an even count); 0 when empty.
    fn median(&self) -> f64 {
        let mut passed = 0;
        for (&key, &count) in &self.counts {
            passed += count;
            if passed > self.total / 2 {
                let bits = if key >> 63 == 1 { key & !(1 << 63) } else { !key };
                return f64::from_bits(bits);
            }
        }
        0.0
    }
}

/// How strongly evidence of `bits` supports "one person's record" over "two people's", in the
/// words of the ENFSI verbal scale for likelihood ratios (ENFSI Guideline for Evaluative
/// Reporting in Forensic Science, 2015): 1–10 weak, 10–100 moderate, 100–1,000 moderately
/// strong, 1,000–10,000 strong, 10,000–1,000,000 very strong, above 1,000,000 extremely strong.
pub fn support(bits: f64) -> &'static str {
    let ratio = bits.exp2();
    match ratio {
        ratio if ratio > 1e6 => "extremely strong support",
        ratio if ratio > 1e4 => "very strong support",
        ratio if ratio > 1e3 => "strong support",
        ratio if ratio > 1e2 => "moderately strong support",
        ratio if ratio > 1e1 => "moderate support",
        ratio if ratio > 1.0 => "weak support",
        _ => "no support",
    }
}

/// A likelihood ratio of `bits` in words: `about 2,000` or `about 10^15`.
fn ratio_in_words(bits: f64) -> String {
    let ratio = bits.exp2();
    if ratio < 1e6 {
        let rounded = format!("{:.0}", ratio);
        // Thousands separated, as investigators read figures aloud.
        let digits: Vec<char> = rounded.chars().collect();
        let mut grouped = String::new();
        for (position, digit) in digits.iter().enumerate() {
            if position > 0 && (digits.len() - position).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(*digit);
        }
        format!("about {grouped}")
    } else {
        format!("about 10^{:.0}", bits * std::f64::consts::LOG10_2)
    }
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// Builds the report from each suspect's matches (all of them, best first): [`Attribution`]
/// over one chunk.
pub fn attribute(
    index: &Index,
    suspects: &[Suspect],
    matches: &[Vec<RecordMatch<'_>>],
    problems: Vec<String>,
) -> Report {
    let mut attribution = Attribution::default();
    attribution.add(index, suspects, matches);
    attribution.finish(index, problems)
}

/// Suspect records matched and attributed together: about 30 MB of records and their matches
/// at a time, whatever the size of the set.
pub const ATTRIBUTION_CHUNK: usize = 65_536;

/// Matches each chunk of suspect records (every match, best first, above `options`' threshold)
/// and adds it to an [`Attribution`]; `each` sees every chunk with its matches first (to audit,
/// charge or write them) and can stop the run with its error. Memory is bounded by the chunks'
/// size (see [`ATTRIBUTION_CHUNK`]).
pub fn attribute_chunks<E: From<QueryError>>(
    index: &Index,
    chunks: impl Iterator<Item = Vec<Suspect>>,
    options: &MatchOptions,
    mut each: impl FnMut(&[Suspect], &[Vec<RecordMatch<'_>>]) -> Result<(), E>,
) -> Result<Attribution, E> {
    let mut attribution = Attribution::default();
    for chunk in joining_short_chunks(chunks) {
        let matches = match_records(index, &chunk, options)?;
        each(&chunk, &matches)?;
        attribution.add(index, &chunk, &matches);
    }
    Ok(attribution)
}

/// The chunks as they come, except that one shorter than half the chunk before it (the last
/// of a reader's) joins that one: the match model is learned per chunk, and a handful of
/// records teach it little.
pub fn joining_short_chunks(chunks: impl Iterator<Item = Vec<Suspect>>) -> impl Iterator<Item = Vec<Suspect>> {
    let mut chunks = chunks.peekable();
    std::iter::from_fn(move || {
        let mut chunk = chunks.next()?;
        if chunks.peek().is_some_and(|next| next.len() < chunk.len() / 2) {
            chunk.extend(chunks.next().into_iter().flatten());
        }
        Some(chunk)
    })
}

/// What one known corpus has explained so far.
#[derive(Default)]
struct CorpusTally {
    matched: usize,
    exclusive: usize,
    ranked_first: usize,
    /// Agreeing fields of this corpus's best match, summed over matched records.
    agreeing: usize,
    /// Evidence of the records whose best match is here.
    first_bits: Tally,
}

/// An attribution report built a chunk of suspect records at a time, so that a suspect set of
/// any size is attributed in memory bounded by the chunk: what it keeps grows with the corpora
/// and with nothing else past fixed caps (field names, listed examples, unmatched records and
/// canary hits, evidence counted at a resolution).
///
/// Chunks are added in suspect order. The evidence (bits, scores) is each chunk's own, because
/// [`match_records`] learns the match model's m-probabilities from the candidate pairs of the
/// records it is given; so whether a borderline record clears the threshold, and with it the
/// counts, can differ from one whole-set run by a few records. With chunks of
/// [`ATTRIBUTION_CHUNK`] records, the last at least half a chunk (see [`attribute_chunks`]),
/// every chunk teaches the model plenty; a set of up to 1.5 chunks is matched whole and gets
/// exactly the whole-set report.
#[derive(Default)]
pub struct Attribution {
    records: usize,
    matched: usize,
    per_corpus: BTreeMap<String, CorpusTally>,
    pairs: BTreeMap<(String, String), usize>,
    histogram: [usize; 10],
    evidence_histogram: [usize; 10],
    canaries: Vec<CanaryHit>,
    canary_matches: usize,
    unmatched_records: Vec<RecordRef>,
    examples: Vec<Example>,
    /// Suspect field names, the first [`FIELD_NAMES_KEPT`]: their kind and their place in
    /// order of first appearance.
    suspect_kinds: HashMap<String, (usize, Kind)>,
}

impl Attribution {
    /// Adds the next chunk of suspect records and their matches (all of them, best first).
    pub fn add(&mut self, index: &Index, suspects: &[Suspect], matches: &[Vec<RecordMatch<'_>>]) {
        debug_assert_eq!(suspects.len(), matches.len());
        for field in suspects.iter().flat_map(|suspect| &suspect.fields) {
            let seen = self.suspect_kinds.len();
            if seen < FIELD_NAMES_KEPT && !self.suspect_kinds.contains_key(&field.name) {
                self.suspect_kinds.insert(field.name.clone(), (seen, field.kind));
            }
        }
        examples(index, suspects, matches, &mut self.examples);
        for (suspect, list) in suspects.iter().zip(matches) {
            self.records += 1;
            self.add_record(index, suspect, list);
        }
    }

    fn add_record(&mut self, index: &Index, suspect: &Suspect, list: &[RecordMatch<'_>]) {
        let is_canary = |found: &&RecordMatch<'_>| index.segments[found.segment].kind == CorpusKind::Canary;
        for found in list.iter().filter(is_canary) {
            self.canary_matches += 1;
            if self.canaries.len() >= CANARIES_LISTED {
                continue;
            }
            let indexed = &index.segments[found.segment];
            self.canaries.push(CanaryHit {
                canary: found.corpus.to_string(),
                copy: indexed.source.clone().unwrap_or_else(|| found.corpus.to_string()),
                suspect_file: suspect.file.clone(),
                suspect_line: suspect.location.line,
                canary_record: found.record,
                score: found.score,
            });
        }
        let known: Vec<&RecordMatch<'_>> = list.iter().filter(|found| !is_canary(found)).collect();
        let Some(best) = known.first() else {
            if self.unmatched_records.len() < UNMATCHED_LISTED {
                self.unmatched_records.push(RecordRef {
                    record: self.records,
                    file: suspect.file.clone(),
                    line: suspect.location.line,
                });
            }
            return;
        };
        self.matched += 1;
        self.histogram[((best.score * 10.0) as usize).min(9)] += 1;
        self.evidence_histogram[((best.bits.max(0.0) / EVIDENCE_BIN_BITS) as usize).min(9)] += 1;
        let corpora: BTreeSet<&str> = known.iter().map(|found| found.corpus).collect();
        for corpus in &corpora {
            let tally = self.tally(corpus);
            tally.matched += 1;
            if corpora.len() == 1 {
                tally.exclusive += 1;
            }
            // Agreement with this corpus's best match for the record.
            if let Some(found) = known.iter().find(|found| found.corpus == *corpus) {
                tally.agreeing += found.agreeing.len();
            }
        }
        let first = self.tally(best.corpus);
        first.ranked_first += 1;
        first.first_bits.add(best.bits);
        let corpora: Vec<&str> = corpora.into_iter().collect();
        for (i, a) in corpora.iter().enumerate() {
            for b in &corpora[i + 1..] {
                *self.pairs.entry((a.to_string(), b.to_string())).or_default() += 1;
            }
        }
    }

    fn tally(&mut self, corpus: &str) -> &mut CorpusTally {
        self.per_corpus.entry(corpus.to_string()).or_default()
    }

    /// The report of every chunk added, with what could not be read of the suspect input.
    pub fn finish(self, index: &Index, problems: Vec<String>) -> Report {
        let mut suspect_kinds: Vec<(usize, &String, Kind)> = self
            .suspect_kinds
            .iter()
            .map(|(name, &(seen, kind))| (seen, name, kind))
            .collect();
        suspect_kinds.sort_unstable_by_key(|&(seen, _, _)| seen);
        let suspect_kinds: Vec<(&String, Kind)> =
            suspect_kinds.into_iter().map(|(_, name, kind)| (name, kind)).collect();
        let records = self.records;
        let share = |count: usize| {
            if records == 0 {
                0.0
            } else {
                count as f64 / records as f64
            }
        };
        let mut corpora: Vec<CorpusAttribution> = Vec::new();
        for indexed in &index.segments {
            if matches!(indexed.kind, CorpusKind::Canary | CorpusKind::Suspect)
                || corpora.iter().any(|known| known.corpus == indexed.corpus)
            {
                continue;
            }
            let empty = CorpusTally::default();
            let tally = self.per_corpus.get(indexed.corpus.as_str()).unwrap_or(&empty);
            let fields = index
                .segments
                .iter()
                .filter(|other| other.corpus == indexed.corpus)
                .flat_map(|other| other.segment.manifest.fields.iter());
            let kinds: BTreeSet<Kind> = fields.clone().map(|field| field.kind).collect();
            let names: BTreeSet<String> = fields.map(|field| field.name.to_lowercase()).collect();
            corpora.push(CorpusAttribution {
                corpus: indexed.corpus.clone(),
                kind: indexed.kind,
                acquired: indexed.acquired.clone(),
                containment: share(tally.matched),
                ci95: wilson_interval(tally.matched, records),
                exclusive: share(tally.exclusive),
                matched: tally.matched,
                ranked_first: tally.ranked_first,
                ranked_first_share: share(tally.ranked_first),
                ranked_first_ci95: wilson_interval(tally.ranked_first, records),
                agreeing_fields: if tally.matched == 0 {
                    0.0
                } else {
                    tally.agreeing as f64 / tally.matched as f64
                },
                median_bits: tally.first_bits.median(),
                schema_overlap: suspect_kinds
                    .iter()
                    .filter(|(name, kind)| match kind {
                        // Unclassified fields say nothing by kind: the corpus must have one of that name.
                        Kind::Other => names.contains(&name.to_lowercase()),
                        Kind::BirthYear => kinds.contains(kind) || kinds.contains(&Kind::DateOfBirth),
                        _ => kinds.contains(kind),
                    })
                    .map(|(name, _)| name.to_string())
                    .collect(),
            });
        }
        corpora.sort_by(|a, b| b.ranked_first.cmp(&a.ranked_first).then(b.matched.cmp(&a.matched)));
        let mut timeline: Vec<(String, String)> = corpora
            .iter()
            .filter(|corpus| corpus.matched > 0)
            .filter_map(|corpus| Some((corpus.acquired.clone()?, corpus.corpus.clone())))
            .collect();
        timeline.sort();
        let mut report = Report {
            records,
            matched: self.matched,
            unmatched: records - self.matched,
            corpora,
            canaries: self.canaries,
            canary_matches: self.canary_matches,
            verdict: String::new(),
            timeline,
            overlaps: self
                .pairs
                .into_iter()
                .map(|((a, b), records)| Overlap { a, b, records })
                .collect(),
            score_histogram: self.histogram,
            evidence_histogram: self.evidence_histogram,
            unmatched_records: self.unmatched_records,
            examples: self.examples,
            problems,
        };
        report.verdict = verdict(&report);
        report
    }
}

/// Matched records beside their best source, spread over the corpora that rank first.
/// Examples are added to `chosen` until it holds [`EXAMPLES`], at most half of them from one
/// corpus.
fn examples(index: &Index, suspects: &[Suspect], matches: &[Vec<RecordMatch<'_>>], chosen: &mut Vec<Example>) {
    for (suspect, list) in suspects.iter().zip(matches) {
        if chosen.len() >= EXAMPLES {
            return;
        }
        let Some(best) = list.first() else { continue };
        let taken = chosen.iter().filter(|example| example.corpus == best.corpus).count();
        if taken >= EXAMPLES / 2 {
            continue;
        }
        let Ok(shown) = index.segments[best.segment].segment.show(best.record_number) else {
            continue;
        };
        chosen.push(Example {
            suspect_file: suspect.file.clone(),
            suspect_line: suspect.location.line,
            suspect: suspect
                .fields
                .iter()
                .map(|field| (field.name.clone(), field.raw.clone()))
                .collect(),
            corpus: best.corpus.to_string(),
            file: best.file.to_string(),
            record: best.record,
            line: best.line,
            score: best.score,
            bits: best.bits,
            evidence: best.evidence.clone(),
            agreeing: best.agreeing.clone(),
            disagreeing: best.disagreeing.clone(),
            source: shown.fields.into_iter().map(|field| (field.name, field.raw)).collect(),
        });
    }
}

/// The verdict in plain words: canaries first, then the most likely source with its evidence and
/// uncertainty, then what is found nowhere.
///
/// Written from the report as it stands: a report redacted for a role that sees no contents
/// (no field agreement) gets a verdict without it.
pub fn verdict(report: &Report) -> String {
    let mut words = Vec::new();
    if let Some(canary) = report.canaries.first() {
        let copies: BTreeSet<&str> = report.canaries.iter().map(|hit| hit.copy.as_str()).collect();
        words.push(format!(
            "CANARY: {} suspect record(s) match canary records planted in {} (first at {}:{}); this is conclusive evidence of which copy leaked.",
            report.canary_matches,
            copies.into_iter().collect::<Vec<_>>().join(", "),
            canary.suspect_file,
            canary.suspect_line
        ));
    }
    if report.records == 0 {
        words.push("The suspect set holds no readable records.".to_string());
        return words.join(" ");
    }
    let matched_share = report.matched as f64 / report.records as f64;
    let ranked: Vec<&CorpusAttribution> = report.corpora.iter().filter(|corpus| corpus.ranked_first > 0).collect();
    match ranked.as_slice() {
        [] => words.push(format!(
            "None of the {} suspect records matches an indexed record: the set is fabricated, or copied from a source that is not indexed.",
            report.records
        )),
        [first, rest @ ..] => {
            let second = rest.first();
            let mixed = second.is_some_and(|second| second.ranked_first * 4 >= first.ranked_first);
            let others = |skip: usize| -> String {
                report
                    .corpora
                    .iter()
                    .filter(|corpus| corpus.matched > 0)
                    .skip(skip)
                    .take(3)
                    .map(|corpus| format!("{} holds {}", corpus.corpus, percent(corpus.containment)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if let (true, Some(second)) = (mixed, second) {
                words.push(format!(
                    "The set combines several sources: {} is the best match for {} of records (95% CI {}–{}) and {} for {} ({}–{}).",
                    first.corpus,
                    percent(first.ranked_first_share),
                    percent(first.ranked_first_ci95[0]),
                    percent(first.ranked_first_ci95[1]),
                    second.corpus,
                    percent(second.ranked_first_share),
                    percent(second.ranked_first_ci95[0]),
                    percent(second.ranked_first_ci95[1]),
                ));
            } else {
                words.push(format!(
                    "Most likely source: {}. It is the best match for {} of the {} suspect records (95% CI {}–{}) and contains {} ({}–{}), {} of them found in no other corpus{}.",
                    first.corpus,
                    percent(first.ranked_first_share),
                    report.records,
                    percent(first.ranked_first_ci95[0]),
                    percent(first.ranked_first_ci95[1]),
                    percent(first.containment),
                    percent(first.ci95[0]),
                    percent(first.ci95[1]),
                    percent(first.exclusive),
                    if first.agreeing_fields > 0.0 {
                        format!("; on matched records {:.1} fields agree on average", first.agreeing_fields)
                    } else {
                        String::new()
                    },
                ));
            }
            if first.median_bits > 0.0 {
                words.push(format!(
                    "On the records whose best match is in {}, the fields agree as they would about {} times more often for copies of one person's record than for the records of two different people (median evidence {:.0} bits: {} on the ENFSI verbal scale; the model takes fields to agree by chance independently of one another, so the figure is an upper bound).",
                    first.corpus,
                    ratio_in_words(first.median_bits).trim_start_matches("about "),
                    first.median_bits,
                    support(first.median_bits),
                ));
            }
            let rest = others(if mixed { 2 } else { 1 });
            if !rest.is_empty() {
                words.push(format!("Also holding these records: {rest}."));
            }
        }
    }
    if report.unmatched > 0 {
        words.push(format!(
            "{} of records ({}) are found in no indexed corpus: fabricated, or from a source not yet indexed.",
            percent(1.0 - matched_share),
            report.unmatched
        ));
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_worded_on_the_enfsi_scale() {
        assert_eq!(support(2.0), "weak support");
        assert_eq!(support(5.0), "moderate support");
        assert_eq!(support(12.0), "strong support");
        assert_eq!(support(30.0), "extremely strong support");
        assert_eq!(support(-1.0), "no support");
        assert_eq!(ratio_in_words(11.0), "about 2,048");
        assert_eq!(ratio_in_words(50.0), "about 10^15");
    }

    #[test]
    fn the_tally_median_is_the_sorted_middle() {
        let values = [3.5, -2.0, 7.25, 3.5, 0.0, -0.5, 120.0, 3.5, -2.0, 9.0];
        for length in 1..=values.len() {
            let mut tally = Tally::default();
            values[..length].iter().for_each(|&value| tally.add(value));
            let mut sorted = values[..length].to_vec();
            sorted.sort_by(f64::total_cmp);
            assert_eq!(tally.median(), sorted[length / 2], "{:?}", &values[..length]);
        }
        assert_eq!(Tally::default().median(), 0.0);
    }

    #[test]
    fn wilson_interval_matches_known_values() {
        // Reference values from the closed form (Wilson 1927), as R's prop.test without continuity correction.
        let [low, high] = wilson_interval(50, 100);
        assert!(
            (low - 0.4038).abs() < 1e-3 && (high - 0.5962).abs() < 1e-3,
            "{low} {high}"
        );
        let [low, high] = wilson_interval(0, 20);
        assert!(low == 0.0 && (high - 0.1611).abs() < 1e-3, "{high}");
        let [low, high] = wilson_interval(20, 20);
        assert!((low - 0.8389).abs() < 1e-3 && high == 1.0, "{low}");
        assert_eq!(wilson_interval(0, 0), [0.0, 1.0]);
    }
}
