//! Provenance: matching suspect records to their sources, attribution of a suspect set, canaries,
//! and the report in JSON, JSON Lines and HTML.

use crate::common::{corpus, indexed_corpora, leakdex};
use leakdex::ingest::ScanOptions;
use leakdex::query::Index;
use leakdex::query::r#match::{MatchOptions, match_records, read_suspects};
use leakdex::query::provenance::attribute;
use leakdex::segment::{BuildOptions, build_segment};
use leakdex::synth::{Corpus as Generated, Person, linkage_set, suspect_records, write_linkage_csv, write_suspects};
use std::path::Path;

const RECORDS: u64 = 20_000;
const SEED: u64 = 11;

fn all_matches() -> MatchOptions {
    MatchOptions {
        limit: usize::MAX,
        ..MatchOptions::default()
    }
}

fn corpus_of(generated: Generated) -> &'static str {
    generated.file_name().split('.').next().unwrap()
}

/// Writes suspect records given as JSON objects, one per line.
fn write_lines(path: &Path, lines: &[serde_json::Value]) {
    let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn attribution_of_a_generated_bot_sample_meets_the_accuracy_targets() {
    let dir = tempfile::tempdir().unwrap();
    let (data, catalog) = indexed_corpora(dir.path(), RECORDS, &BuildOptions::default());
    let truth = suspect_records(RECORDS, SEED, 4000);
    let sample = dir.path().join("suspects.jsonl");
    write_suspects(&sample, &truth).unwrap();
    let (suspects, problems) = read_suspects(std::slice::from_ref(&sample), &ScanOptions::default());
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(suspects.len(), truth.len());
    let index = Index::open(&data, &*catalog, &[]).unwrap();
    let matches = match_records(&index, &suspects, &all_matches()).unwrap();
    let report = attribute(&index, &suspects, &matches, problems);

    let (mut sourced, mut among, mut first, mut fabricated, mut left_alone) = (0, 0, 0, 0, 0);
    let (mut tied, mut tied_on_top) = (0, 0);
    for (suspect, found) in truth.iter().zip(&matches) {
        let Some((corpus, ordinal)) = suspect.source else {
            fabricated += 1;
            left_alone += usize::from(found.is_empty());
            continue;
        };
        let position = found
            .iter()
            .position(|candidate| candidate.corpus == corpus_of(corpus) && candidate.record == ordinal);
        among += usize::from(position.is_some());
        if suspect.tied(RECORDS) {
            // Copies that differ in nothing the record shows: the source must be among the
            // equals on top; which of them comes first is the set's majority, a guess.
            tied += 1;
            tied_on_top += usize::from(position.is_some_and(|position| {
                found[..=position]
                    .iter()
                    .all(|above| (above.bits - found[0].bits).abs() < 1e-9)
            }));
            continue;
        }
        sourced += 1;
        first += usize::from(position == Some(0));
    }
    let share = |count: usize, of: usize| count as f64 / of as f64;
    assert!(
        share(among, sourced + tied) >= 0.995,
        "true source among matches for {among} of {}",
        sourced + tied
    );
    eprintln!(
        "bot sample: true source among matches {among}/{}, first {first}/{sourced} that a comparison can tell apart, \
         among the equal best {tied_on_top}/{tied} of the rest, fabricated left alone {left_alone}/{fabricated}",
        sourced + tied
    );
    assert!(
        share(first, sourced) >= 0.99,
        "true source ranked first for {first} of {sourced}"
    );
    assert!(tied < sourced / 20, "{tied} tied records: the sample says too little");
    assert_eq!(tied_on_top, tied, "true source not among the equal best");
    assert!(
        fabricated > 100 && share(left_alone, fabricated) >= 0.995,
        "{left_alone} of {fabricated} fabricated left unmatched"
    );

    assert_eq!(report.records, truth.len());
    assert_eq!(report.matched + report.unmatched, report.records);
    // The evidence histogram counts every matched record; the verdict says how strong it is.
    assert_eq!(report.evidence_histogram.iter().sum::<usize>(), report.matched);
    assert!(report.evidence_histogram[..2].iter().sum::<usize>() < report.matched / 2);
    assert!(
        report.verdict.contains("on the ENFSI verbal scale"),
        "{}",
        report.verdict
    );
    assert!(report.corpora.iter().take(2).all(|corpus| corpus.median_bits > 20.0));
    for generated in Generated::ALL {
        let expected = share(
            truth
                .iter()
                .filter(|suspect| suspect.findable_in(generated, RECORDS))
                .count(),
            truth.len(),
        );
        let attributed = report
            .corpora
            .iter()
            .find(|corpus| corpus.corpus == corpus_of(generated))
            .unwrap();
        assert!(
            (attributed.containment - expected).abs() <= 0.01,
            "{generated:?}: containment {} against truth {expected}",
            attributed.containment
        );
        assert!(attributed.ci95[0] <= attributed.containment && attributed.containment <= attributed.ci95[1]);
        assert!(attributed.exclusive <= attributed.containment);
    }
    // A sample copied half from each of two sources: the verdict names both, first.
    let top: Vec<&str> = report
        .corpora
        .iter()
        .take(2)
        .map(|corpus| corpus.corpus.as_str())
        .collect();
    assert!(top.contains(&"vaccination") && top.contains(&"telecom_kyc"), "{top:?}");
    assert!(
        report.verdict.contains("vaccination") && report.verdict.contains("telecom_kyc"),
        "{}",
        report.verdict
    );
    assert!(
        report.verdict.contains("found in no indexed corpus"),
        "{}",
        report.verdict
    );
}

/// A FEBRL-like set (people of another country in eleven columns: given name and surname apart,
/// street number, two address lines, suburb, four-digit postcode, state, `19560813` dates, a
/// seven-digit social security number), each original with one duplicate damaged by typos, OCR
/// errors, phonetic respellings, missing values, swapped names and dates: every duplicate is
/// linked to its original, top-1 F1 at least 0.99, with the weights learned from the set alone.
#[test]
fn a_febrl_like_set_links_each_duplicate_to_its_original() {
    let dir = tempfile::tempdir().unwrap();
    let set = linkage_set(2_000, SEED);
    let (originals, duplicates) = (dir.path().join("originals.csv"), dir.path().join("duplicates.csv"));
    write_linkage_csv(&originals, &set.originals).unwrap();
    write_linkage_csv(&duplicates, &set.duplicates).unwrap();
    let data = crate::common::deployment(&dir.path().join("data"));
    let catalog = crate::common::catalog_of(&data);
    let built = build_segment(
        &data,
        &*catalog,
        &corpus("originals"),
        &[originals],
        &BuildOptions::default(),
    )
    .unwrap();
    assert!(built.errors.is_empty(), "{:?}", built.errors);
    let (suspects, problems) = read_suspects(std::slice::from_ref(&duplicates), &ScanOptions::default());
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(suspects.len(), set.duplicates.len());
    let kinds: Vec<(String, leakdex::ingest::Kind)> = suspects[0]
        .fields
        .iter()
        .map(|field| (field.name.clone(), field.kind))
        .collect();
    use leakdex::ingest::Kind;
    for (column, kind) in [
        ("given_name", Kind::Name),
        ("street_number", Kind::StreetNumber),
        ("suburb", Kind::Locality),
        ("postcode", Kind::Pincode),
        ("date_of_birth", Kind::DateOfBirth),
        ("soc_sec_id", Kind::NationalId),
    ] {
        assert!(
            kinds.iter().any(|(name, found)| name == column && *found == kind),
            "{column} is not {kind}: {kinds:?}"
        );
    }
    let index = Index::open(&data, &*catalog, &[]).unwrap();
    let matches = match_records(&index, &suspects, &all_matches()).unwrap();
    let (mut correct, mut wrong, mut unmatched) = (0, 0, 0);
    for (original, found) in set.truth.iter().zip(&matches) {
        match found.first() {
            Some(best) if best.record == *original as u64 + 1 => correct += 1,
            Some(_) => wrong += 1,
            None => unmatched += 1,
        }
    }
    let precision = correct as f64 / (correct + wrong).max(1) as f64;
    let recall = correct as f64 / set.duplicates.len() as f64;
    let f1 = 2.0 * precision * recall / (precision + recall);
    eprintln!(
        "FEBRL-like set: precision {precision:.4} recall {recall:.4} F1 {f1:.4} ({wrong} wrong, {unmatched} unmatched)"
    );
    assert!(
        f1 >= 0.99,
        "top-1 F1 {f1:.4}: {correct} right, {wrong} wrong, {unmatched} unmatched"
    );
    // A wrong first match is worse than none: at most one in 200.
    assert!(wrong * 200 <= set.duplicates.len(), "{wrong} wrong first matches");
    // The report says which comparisons decided each match.
    let best = matches.iter().find_map(|found| found.first()).unwrap();
    assert!(best.evidence.iter().any(|evidence| evidence.bits > 0.0), "{best:?}");
}

#[test]
fn names_match_across_scripts_both_ways_without_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let data = crate::common::deployment(&dir.path().join("data"));
    let catalog = crate::common::catalog_of(&data);
    // Two registers, one in Devanagari and one in Latin letters, with namesakes born on other
    // days, so that only the name and the date together find the right record.
    let registers = [
        (
            "register_hi",
            "नाम,जन्म तिथि,जिला\nसुनीता शर्मा,1984-07-21,जयपुर\nसुनीता शर्मा,1990-02-02,जयपुर\nराहुल वर्मा,1979-11-05,पुणे\n",
        ),
        (
            "register_en",
            "name,dob,district\nDeepak Chaudhary,1991-03-14,Patna\nDeepak Chaudhary,1988-01-01,Patna\nPriya Gupta,1975-09-30,Lucknow\n",
        ),
    ];
    for (name, text) in registers {
        let path = dir.path().join(format!("{name}.csv"));
        std::fs::write(&path, text).unwrap();
        let corpus = leakdex::catalog::Corpus::new(name, leakdex::catalog::CorpusKind::Leak);
        leakdex::segment::build_segment(&data, &*catalog, &corpus, &[path], &BuildOptions::default()).unwrap();
    }
    let sample = dir.path().join("bot.jsonl");
    write_lines(
        &sample,
        &[
            // Latin letters, the vowel romanizations differ by (Verma / वर्मा is `varma`).
            serde_json::json!({"name": "Sunita Sharma", "dob": "21/07/1984"}),
            serde_json::json!({"name": "Rahul Verma", "dob": "1979-11-05"}),
            // Devanagari for names the other register holds in Latin letters.
            serde_json::json!({"name": "दीपक चौधरी", "dob": "1988-01-01"}),
            serde_json::json!({"name": "प्रिया गुप्ता", "dob": "1975-09-30"}),
            // The same date with another person's name finds nothing.
            serde_json::json!({"name": "अमित वर्मा", "dob": "1984-07-21"}),
        ],
    );
    let (suspects, problems) = read_suspects(std::slice::from_ref(&sample), &ScanOptions::default());
    assert!(problems.is_empty(), "{problems:?}");
    let index = Index::open(&data, &*catalog, &[]).unwrap();
    let matches = match_records(&index, &suspects, &MatchOptions::default()).unwrap();
    let best: Vec<Option<(&str, u64)>> = matches
        .iter()
        .map(|found| found.first().map(|best| (best.corpus, best.record)))
        .collect();
    assert_eq!(
        best,
        [
            Some(("register_hi", 1)),
            Some(("register_hi", 3)),
            Some(("register_en", 2)),
            Some(("register_en", 3)),
            None
        ],
        "{matches:?}"
    );
    for found in &matches[..4] {
        assert!(found[0].agreeing.contains(&"name".to_string()), "{found:?}");
    }
}

#[test]
fn records_match_without_strong_identifiers_with_masked_ids_and_other_writings() {
    let dir = tempfile::tempdir().unwrap();
    let (data, catalog) = indexed_corpora(dir.path(), 2_000, &BuildOptions::default());
    let records = 2_000;
    let telecom = Person::new(SEED, records / 2 + 40);
    let vaccination = Person::new(SEED, 17);
    // A first name the sources romanize in more than one way.
    let lakshmi = (0..records / 2)
        .map(|index| Person::new(SEED, index))
        .find(|person| person.first == "Lakshmi")
        .expect("a Lakshmi in the vaccination window");
    let fabricated_phone = Person::new(SEED, records * 9).mobile;
    let (year, month, day) = telecom.birth;
    let lines = [
        // 1: name (words swapped, upper case), date in another writing, address; no identifier.
        serde_json::json!({
            "full name": format!("{} {}", telecom.last, telecom.first).to_uppercase(),
            "birth date": format!("{day} {} {year}", ["Jan","Feb","Mar","Apr","May","Jun","Jul","Aug","Sep","Oct","Nov","Dec"][month as usize - 1]),
            "addr": format!("{}, {} - {}", telecom.house, telecom.district, telecom.pincode),
        }),
        // 2: an initial, a birth year and a masked ID; no phone.
        serde_json::json!({
            "name": format!("{}. {}", &vaccination.first[..1], vaccination.last),
            "yob": vaccination.birth.0.to_string(),
            "aadhaar": format!("XXXX XXXX {}", &vaccination.aadhaar[8..]),
        }),
        // 3: another romanization of the first name, and the phone written another way.
        serde_json::json!({
            "name": format!("Laxmi {}", lakshmi.last),
            "mobile": format!("+91 {}-{}", &lakshmi.mobile[..5], &lakshmi.mobile[5..]),
        }),
        // 4: a real person's name, birth year and district with a phone nobody has.
        serde_json::json!({
            "name": vaccination.name(),
            "yob": vaccination.birth.0.to_string(),
            "district": vaccination.district,
            "mobile": fabricated_phone,
        }),
        // 5: a real phone with another person's name and date of birth.
        serde_json::json!({
            "name": "Zorawar Kapoor",
            "dob": "1931-01-01",
            "mobile": telecom.mobile,
        }),
    ];
    let sample = dir.path().join("handmade.jsonl");
    write_lines(&sample, &lines);
    let (suspects, problems) = read_suspects(std::slice::from_ref(&sample), &ScanOptions::default());
    assert!(problems.is_empty(), "{problems:?}");
    let index = Index::open(&data, &*catalog, &[]).unwrap();
    let matches = match_records(&index, &suspects, &all_matches()).unwrap();

    let best = |position: usize| matches[position].first().map(|found| (found.corpus, found.record));
    assert_eq!(
        best(0),
        Some(("telecom_kyc", telecom.index - records / 2 + 1)),
        "{:?}",
        matches[0]
    );
    assert!(matches[0][0].agreeing.contains(&"full name".to_string()));
    assert!(matches[0][0].agreeing.contains(&"birth date".to_string()));
    assert_eq!(
        best(1),
        Some(("vaccination", vaccination.index + 1)),
        "{:?}",
        matches[1]
    );
    assert!(matches[1][0].agreeing.contains(&"aadhaar".to_string()));
    let found = &matches[2][0];
    assert_eq!(
        (found.corpus, found.record),
        ("vaccination", lakshmi.index + 1),
        "{:?}",
        matches[2]
    );
    assert!(
        found.agreeing.contains(&"name".to_string()) && found.disagreeing.is_empty(),
        "{found:?}"
    );
    assert!(matches[3].is_empty(), "fabricated record matched: {:?}", matches[3]);
    assert!(
        matches[4].is_empty(),
        "a phone with another person's details matched: {:?}",
        matches[4]
    );
    // Every match lies at the line and offset it names.
    for found in matches.iter().flatten() {
        let shown = index.show(found.corpus, found.file, found.record).unwrap().unwrap();
        assert_eq!((shown.line, shown.offset), (found.line, found.offset));
    }
}

#[test]
fn provenance_command_writes_report_records_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _catalog) = indexed_corpora(dir.path(), 2_000, &BuildOptions::default());
    let sample = dir.path().join("sample.jsonl");
    write_suspects(&sample, &suspect_records(2_000, SEED, 300)).unwrap();
    let (records, html) = (dir.path().join("matches.jsonl"), dir.path().join("report.html"));
    let output = leakdex(data.root())
        .arg("provenance")
        .arg("--json")
        .arg("--records")
        .arg(&records)
        .arg("--html")
        .arg(&html)
        .arg(&sample)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["records"], 300);
    assert_eq!(
        report["matched"].as_u64().unwrap() + report["unmatched"].as_u64().unwrap(),
        300
    );
    let corpora = report["corpora"].as_array().unwrap();
    assert_eq!(corpora.len(), 5);
    for corpus in corpora {
        for key in ["corpus", "containment", "ci95", "exclusive", "matched"] {
            assert!(!corpus[key].is_null(), "{key} missing in {corpus}");
        }
    }
    assert!(report["canaries"].as_array().unwrap().is_empty());
    assert!(report["verdict"].as_str().unwrap().len() > 40);

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&records)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 300);
    for (position, line) in lines.iter().enumerate() {
        assert_eq!(line["record"], position as u64 + 1);
        // Best first: by evidence (the score adds each corpus's prior).
        let evidence: Vec<f64> = line["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|found| found["bits"].as_f64().unwrap())
            .collect();
        assert!(
            evidence.windows(2).all(|pair| pair[0] >= pair[1]) || evidence.len() < 2,
            "{line}"
        );
        for found in line["matches"].as_array().unwrap() {
            for key in [
                "corpus",
                "file",
                "record",
                "line",
                "score",
                "bits",
                "agreeing",
                "disagreeing",
                "evidence",
            ] {
                assert!(!found[key].is_null(), "{key} missing in {found}");
            }
        }
    }
    let matched_lines = lines
        .iter()
        .filter(|line| !line["matches"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(matched_lines as u64, report["matched"].as_u64().unwrap());

    let page = std::fs::read_to_string(&html).unwrap();
    let verdict_at = page.find("id=\"verdict\"").expect("verdict");
    for chart in [
        "id=\"containment-chart\"",
        "id=\"overlap\"",
        "id=\"evidence-chart\"",
        "id=\"examples\"",
    ] {
        let at = page.find(chart).unwrap_or_else(|| panic!("{chart} missing"));
        assert!(verdict_at < at, "the verdict must come before {chart}");
    }
    for external in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(
            !page.contains(external),
            "the report must be self-contained: {external}"
        );
    }
}

/// A canary is met by its whole identifier, however long: matching compares values cut at 96
/// bytes, but what is fingerprinted must be whole, as the identifier index holds it.
#[test]
fn a_canary_with_an_identifier_past_96_bytes_is_met() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let email = format!("{}@{}.example.org", "p".repeat(60), "d".repeat(45));
    assert!(email.len() > 96);
    let canary_file = dir.path().join("planted.csv");
    std::fs::write(&canary_file, format!("name,email\nZed Planted,{email}\n")).unwrap();
    let output = leakdex(&data)
        .args(["canary", "add", "--source", "long-mail"])
        .arg(&canary_file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let dump = dir.path().join("mail_dump.csv");
    std::fs::write(&dump, format!("user,mail\nasha,asha@example.org\nzed,{email}\n")).unwrap();
    let output = leakdex(&data)
        .args(["ingest", "--no-text", "--json", "--corpus", "mail_dump"])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let canaries = report["canaries"].as_array().unwrap();
    assert_eq!(canaries.len(), 1, "{report}");
    assert_eq!(canaries[0]["line"].as_u64(), Some(3), "{report}");
}

#[test]
fn canaries_are_reported_first_by_ingest_and_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let (data, catalog) = indexed_corpora(dir.path(), 1_000, &BuildOptions::default());
    // Three people nobody else holds, planted in copy B of the portal.
    let planted: Vec<Person> = (0..3).map(|offset| Person::new(SEED, 50_000 + offset)).collect();
    let canary_file = dir.path().join("planted.csv");
    let mut csv = String::from("name,mobile,email,birth_year\n");
    for person in &planted {
        csv.push_str(&format!(
            "{},{},{},{}\n",
            person.name(),
            person.mobile,
            person.email,
            person.birth.0
        ));
    }
    std::fs::write(&canary_file, csv).unwrap();
    let output = leakdex(data.root())
        .args(["canary", "add", "--source", "portal-copy-B"])
        .arg(&canary_file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let listed = leakdex(data.root()).args(["canary", "list"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("canary-portal-copy-B\tplanted in portal-copy-B\t3 records")
    );

    // A dump that carries one planted record among others: ingest names the copy.
    let dump = dir.path().join("forum_dump.csv");
    std::fs::write(
        &dump,
        format!(
            "full_name,phone\nAsha Rao,9812300011\n{},+91 {}\n",
            planted[1].name(),
            planted[1].mobile
        ),
    )
    .unwrap();
    let output = leakdex(data.root())
        .args(["ingest", "--no-text", "--json", "--corpus", "forum_dump"])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .lines()
            .any(|line| line.starts_with("CANARY: canary canary-portal-copy-B (planted in copy portal-copy-B): its phone is in forum_dump.csv record 2 line 3")),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let canaries = report["canaries"].as_array().unwrap();
    assert_eq!(canaries.len(), 1, "{report}");
    assert_eq!(
        (canaries[0]["record"].as_u64(), canaries[0]["line"].as_u64()),
        (Some(2), Some(3))
    );
    // A dump without planted records meets none.
    let clean = leakdex(data.root())
        .args(["ingest", "--no-text", "--json", "--corpus", "clean_dump"])
        .arg(dir.path().join("dumps/combo_list.txt"))
        .output()
        .unwrap();
    let clean: serde_json::Value = serde_json::from_slice(&clean.stdout).unwrap();
    assert!(clean["canaries"].as_array().unwrap().is_empty(), "{clean}");

    // A suspect sample with a planted record: the report leads with it.
    let sample = dir.path().join("sample.jsonl");
    let mut lines: Vec<serde_json::Value> = suspect_records(1_000, SEED, 40)
        .into_iter()
        .map(|suspect| {
            serde_json::Value::Object(
                suspect
                    .fields
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), value.into()))
                    .collect(),
            )
        })
        .collect();
    lines.push(serde_json::json!({"name": planted[2].name(), "mobile": planted[2].mobile, "yob": planted[2].birth.0.to_string()}));
    write_lines(&sample, &lines);
    let (suspects, problems) = read_suspects(std::slice::from_ref(&sample), &ScanOptions::default());
    let index = Index::open(&data, &*catalog, &[]).unwrap();
    let matches = match_records(&index, &suspects, &all_matches()).unwrap();
    let report = attribute(&index, &suspects, &matches, problems);
    assert_eq!(report.canaries.len(), 1, "{:?}", report.canaries);
    assert_eq!(report.canaries[0].copy, "portal-copy-B");
    assert_eq!(report.canaries[0].suspect_line, 41);
    assert!(report.verdict.starts_with("CANARY"), "{}", report.verdict);
    // Canary corpora are evidence, not sources.
    assert!(
        report
            .corpora
            .iter()
            .all(|corpus| !corpus.corpus.starts_with("canary-"))
    );
    let page = leakdex::report::render_html(&report);
    assert!(page.find("class=\"canary\"").unwrap() < page.find("id=\"verdict\"").unwrap());
}

#[test]
fn html_report_renders_its_charts_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _catalog) = indexed_corpora(dir.path(), 1_000, &BuildOptions::default());
    let sample = dir.path().join("sample.jsonl");
    write_suspects(&sample, &suspect_records(1_000, SEED, 200)).unwrap();
    let html = dir.path().join("report.html");
    let output = leakdex(data.root())
        .arg("provenance")
        .arg("--html")
        .arg(&html)
        .arg(&sample)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = std::process::Command::new(crate::common::setup::chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("chromium-profile").display()
        ))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dom = String::from_utf8_lossy(&output.stdout);
    let log = String::from_utf8_lossy(&output.stderr);
    // Page errors and console messages reach the log as CONSOLE lines.
    let page_errors: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("CONSOLE") || line.contains("Uncaught"))
        .collect();
    assert!(page_errors.is_empty(), "the report logged errors: {page_errors:?}");
    assert!(dom.contains("id=\"verdict\""), "{dom}");
    for chart in ["containment-chart", "evidence-chart"] {
        let tag = dom
            .split("<svg")
            .find(|tag| tag.contains(&format!("id=\"{chart}\"")))
            .unwrap_or_else(|| panic!("{chart} missing from the rendered page"));
        let tag = &tag[..tag.find('>').unwrap()];
        assert!(tag.contains("data-rendered=\"yes\""), "{chart} not drawn: {tag}");
    }
    assert!(dom.contains("id=\"overlap\"") && dom.contains("id=\"examples\""));
}

/// The generated corpora at 2,000 records each, indexed, and a bot-style sample of 500 of their
/// records (a few fabricated) written as `sample.jsonl` and read back as suspects.
fn bot_sample(
    dir: &Path,
) -> (
    leakdex::storage::DataDir,
    std::sync::Arc<dyn leakdex::catalog::Catalog>,
    Vec<leakdex::synth::SuspectRecord>,
    std::path::PathBuf,
    Vec<leakdex::query::r#match::Suspect>,
) {
    let (data, catalog) = indexed_corpora(dir, 2_000, &BuildOptions::default());
    let truth = suspect_records(2_000, SEED, 500);
    let sample = dir.join("sample.jsonl");
    write_suspects(&sample, &truth).unwrap();
    let (suspects, _) = read_suspects(std::slice::from_ref(&sample), &ScanOptions::default());
    (data, catalog, truth, sample, suspects)
}

/// A Provenance client of `served` with a token of the investigator role.
async fn investigator(
    data: &leakdex::storage::DataDir,
    served: &crate::common::Served,
) -> leakdex::service::proto::provenance_client::ProvenanceClient<leakdex::service::client::Connection> {
    let (_, token) = leakdex::access::token::TokenStore::new(data)
        .create("investigator", leakdex::access::role::Role::Investigator)
        .unwrap();
    let channel = leakdex::service::client::connect(&served.url, Some(&token))
        .await
        .unwrap();
    leakdex::service::proto::provenance_client::ProvenanceClient::new(channel)
}

fn to_proto(fields: &[(&'static str, String)]) -> leakdex::service::proto::SuspectRecord {
    leakdex::service::proto::SuspectRecord {
        fields: fields
            .iter()
            .map(|(name, value)| leakdex::service::proto::SuspectField {
                name: name.to_string(),
                value: value.clone(),
            })
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provenance_service_matches_streams_and_attributes_sets_like_the_library() {
    use leakdex::service::proto::{self, attribute_request::Input};
    use tonic::Code;

    let dir = tempfile::tempdir().unwrap();
    let (data, catalog, truth, sample, suspects) = bot_sample(dir.path());
    // The library's answers, to compare with.
    let index = Index::open(&data, &*catalog, &[]).unwrap();
    let expected = match_records(&index, &suspects, &all_matches()).unwrap();
    let expected_report = attribute(&index, &suspects, &expected, Vec::new());
    // The same sample ingested as a suspect corpus.
    let suspect_corpus = leakdex::catalog::Corpus::new("bot_sample", leakdex::catalog::CorpusKind::Suspect);
    leakdex::segment::build_segment(
        &data,
        &*catalog,
        &suspect_corpus,
        std::slice::from_ref(&sample),
        &BuildOptions::default(),
    )
    .unwrap();

    let served = crate::common::Served::start(&data, None).await;
    let mut client = investigator(&data, &served).await;

    // Match: one response per request, in order, equal to the library's best matches.
    let mut requests: Vec<proto::MatchRequest> = truth
        .iter()
        .enumerate()
        .map(|(position, suspect)| proto::MatchRequest {
            id: format!("r{position}"),
            record: Some(to_proto(&suspect.fields)),
            threshold: 0.0,
            limit: 3,
        })
        .collect();
    requests.push(proto::MatchRequest {
        id: "empty".into(),
        record: None,
        threshold: 0.0,
        limit: 0,
    });
    requests.push(proto::MatchRequest {
        id: "bad".into(),
        record: Some(to_proto(&truth[0].fields)),
        threshold: 1.5,
        limit: 0,
    });
    let count = requests.len();
    let mut responses = client.r#match(tokio_stream::iter(requests)).await.unwrap().into_inner();
    let mut answered = Vec::new();
    while let Some(response) = responses.message().await.unwrap() {
        answered.push(response);
    }
    assert_eq!(answered.len(), count);
    let mut agreeing_best = 0;
    for (position, (response, wanted)) in answered.iter().zip(&expected).enumerate() {
        assert_eq!(response.id, format!("r{position}"));
        assert!(response.error.is_empty(), "{}", response.error);
        assert!(response.matches.len() <= 3);
        assert_eq!(response.matches.is_empty(), wanted.is_empty(), "record {position}");
        if let (Some(got), Some(want)) = (response.matches.first(), wanted.first()) {
            agreeing_best += usize::from(got.corpus == want.corpus && got.record == want.record);
            // The investigator sees which comparisons decided the match (their weights are
            // learned per micro-batch, so they are not the library's over the whole set).
            assert!(got.evidence_bits > 0.0 && !got.evidence.is_empty(), "{got:?}");
            let summed: f64 = got.evidence.iter().map(|evidence| evidence.bits).sum();
            assert!((summed - got.evidence_bits).abs() < 1e-6, "{got:?}");
        }
    }
    // Ties between equally good sources are broken by the batch's majority, and the service
    // matches in micro-batches: allow a few records to differ there.
    assert!(
        agreeing_best * 100 >= expected.iter().filter(|list| !list.is_empty()).count() * 98,
        "{agreeing_best}"
    );
    assert_eq!(answered[count - 2].id, "empty");
    assert!(
        answered[count - 2].error.contains("no field"),
        "{}",
        answered[count - 2].error
    );
    assert!(
        answered[count - 1].error.contains("threshold"),
        "{}",
        answered[count - 1].error
    );

    // Attribute a stream of records: the library's report.
    let batches: Vec<proto::AttributeRequest> = truth
        .chunks(128)
        .enumerate()
        .map(|(position, chunk)| proto::AttributeRequest {
            input: Some(Input::Records(proto::SuspectBatch {
                records: chunk.iter().map(|suspect| to_proto(&suspect.fields)).collect(),
            })),
            html: position == 0,
            threshold: 0.0,
        })
        .collect();
    let report = client
        .attribute(tokio_stream::iter(batches))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.records, 500);
    assert_eq!(report.matched as usize, expected_report.matched);
    assert_eq!(report.corpora.len(), expected_report.corpora.len());
    for (got, want) in report.corpora.iter().zip(&expected_report.corpora) {
        assert_eq!((&got.corpus, got.matched as usize), (&want.corpus, want.matched));
        assert!(got.ci95_low <= got.containment && got.containment <= got.ci95_high);
    }
    assert!(report.html.contains("id=\"verdict\""));

    // Attribute the ingested suspect corpus.
    let by_corpus = client
        .attribute(tokio_stream::iter([proto::AttributeRequest {
            input: Some(Input::SuspectCorpus("bot_sample".into())),
            html: false,
            threshold: 0.0,
        }]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_corpus.records, 500);
    assert!(by_corpus.html.is_empty());
    assert!(by_corpus.corpora.iter().all(|corpus| corpus.corpus != "bot_sample"));
    let difference = (by_corpus.matched as i64 - report.matched as i64).abs();
    assert!(difference <= 5, "{} against {}", by_corpus.matched, report.matched);

    // Errors a caller can act on.
    let one = |input: Input| {
        tokio_stream::iter([proto::AttributeRequest {
            input: Some(input),
            html: false,
            threshold: 0.0,
        }])
    };
    let error = client
        .attribute(one(Input::SuspectCorpus("nope".into())))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound, "{error}");
    let error = client
        .attribute(one(Input::SuspectCorpus("vaccination".into())))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition, "{error}");
    let error = client
        .attribute(tokio_stream::iter(Vec::<proto::AttributeRequest>::new()))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument, "{error}");

    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspect_set_larger_than_a_chunk_is_attributed_whole_over_grpc_and_the_cli() {
    use leakdex::query::provenance::ATTRIBUTION_CHUNK;
    use leakdex::service::proto::{self, attribute_request::Input};

    let dir = tempfile::tempdir().unwrap();
    let (data, catalog, truth, _, suspects) = bot_sample(dir.path());
    let index = Index::open(&data, &*catalog, &[]).unwrap();
    let matches = match_records(&index, &suspects, &all_matches()).unwrap();
    // Records matched beyond doubt, and one found nowhere: a set of three chunks (the last
    // more than half a chunk, so not joined to the one before), with the one found nowhere in
    // the third.
    let sure: Vec<usize> = (0..truth.len())
        .filter(|&position| matches[position].first().is_some_and(|best| best.score > 0.99))
        .collect();
    let nowhere = (0..truth.len()).find(|&position| matches[position].is_empty()).unwrap();
    let total = 2 * ATTRIBUTION_CHUNK + ATTRIBUTION_CHUNK / 2 + 1_000;
    let lonely = 2 * ATTRIBUTION_CHUNK + 1_000;
    let set: Vec<&Vec<(&'static str, String)>> = (1..=total)
        .map(|position| {
            let source = if position == lonely {
                nowhere
            } else {
                sure[position % sure.len()]
            };
            &truth[source].fields
        })
        .collect();

    // The command line reads the set from a file.
    let big = dir.path().join("big.jsonl");
    let lines: Vec<serde_json::Value> = set
        .iter()
        .map(|fields| {
            serde_json::Value::Object(
                fields
                    .iter()
                    .map(|(name, value)| (name.to_string(), serde_json::Value::String(value.clone())))
                    .collect(),
            )
        })
        .collect();
    write_lines(&big, &lines);
    let output = leakdex(data.root())
        .args(["provenance", "--json"])
        .arg(&big)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["records"], total);
    assert_eq!(report["unmatched"], 1, "{}", report["unmatched_records"]);
    assert_eq!(report["unmatched_records"][0]["record"], lonely);
    assert_eq!(report["unmatched_records"][0]["line"], lonely);

    // The service reads it from a stream, numbered across its chunks.
    let served = crate::common::Served::start(&data, None).await;
    let mut client = investigator(&data, &served).await;
    let batches: Vec<proto::AttributeRequest> = set
        .chunks(1_000)
        .map(|chunk| proto::AttributeRequest {
            input: Some(Input::Records(proto::SuspectBatch {
                records: chunk.iter().map(|fields| to_proto(fields)).collect(),
            })),
            html: false,
            threshold: 0.0,
        })
        .collect();
    let served_report = client
        .attribute(tokio_stream::iter(batches))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(served_report.records as usize, total);
    assert_eq!(served_report.unmatched, 1);
    let unmatched = &served_report.unmatched_records[0];
    assert_eq!((unmatched.record, unmatched.line), (lonely as u64, lonely as u64));
    assert_eq!(served_report.corpora[0].corpus, report["corpora"][0]["corpus"]);
    assert_eq!(served_report.corpora[0].matched, report["corpora"][0]["matched"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attribute_call_of_large_records_is_matched_in_parts_and_reported_whole() {
    use leakdex::service::proto::{self, attribute_request::Input};

    let dir = tempfile::tempdir().unwrap();
    let (data, _, truth, _, _) = bot_sample(dir.path());
    // 40 records of 1 MiB each (a pasted note beside the fields): past the 32 MiB a call holds
    // before it matches what it holds, though far short of a chunk's count.
    let note = "x".repeat(1 << 20);
    let records: Vec<proto::SuspectRecord> = truth[..40]
        .iter()
        .map(|suspect| {
            let mut record = to_proto(&suspect.fields);
            record.fields.push(proto::SuspectField {
                name: "note".into(),
                value: note.clone(),
            });
            record
        })
        .collect();
    let served = crate::common::Served::start(&data, None).await;
    let mut client = investigator(&data, &served).await;
    let requests: Vec<proto::AttributeRequest> = records
        .into_iter()
        .map(|record| proto::AttributeRequest {
            input: Some(Input::Records(proto::SuspectBatch { records: vec![record] })),
            html: false,
            threshold: 0.0,
        })
        .collect();
    let whole = client
        .attribute(tokio_stream::iter(requests.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(whole.records, 40);
    // The same records without their notes, in one part: the same records found.
    let plain: Vec<proto::AttributeRequest> = requests
        .into_iter()
        .map(|mut request| {
            if let Some(Input::Records(batch)) = &mut request.input {
                batch.records[0].fields.retain(|field| field.name != "note");
            }
            request
        })
        .collect();
    let small = client.attribute(tokio_stream::iter(plain)).await.unwrap().into_inner();
    assert_eq!(small.records, 40);
    assert_eq!(whole.unmatched, small.unmatched);
    let listed = |report: &proto::AttributionReport| -> Vec<(u64, u64)> {
        report
            .unmatched_records
            .iter()
            .map(|unmatched| (unmatched.record, unmatched.line))
            .collect()
    };
    assert_eq!(listed(&whole), listed(&small));
    // Each part was matched, and put on the record, as it was cut: the large records at 32 MiB
    // (32 of them, then the last 8), the small ones in one part.
    let parts: Vec<u64> = leakdex::access::audit::AuditLog::new(&data)
        .entries()
        .unwrap()
        .iter()
        .filter(|entry| entry.body.rpc == "Attribute")
        .map(|entry| entry.body.queries)
        .collect();
    assert_eq!(parts, [32, 8, 40]);
    served.stop().await;
}
