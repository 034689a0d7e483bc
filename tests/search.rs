//! Search as an investigator types it: names with apostrophes, initials, hyphens and slashes,
//! unbalanced quotes and dangling operators are read; plain mode looks for words as written;
//! what still cannot be read is refused with its position; a name typed in Latin letters finds it
//! written in Devanagari, and the reverse. Over gRPC (as two roles) and the CLI.

use crate::common::{Served, leakdex};
use leakdex::access::role::Role;
use leakdex::access::token::TokenStore;
use leakdex::catalog::{Corpus, CorpusKind};
use leakdex::segment::text::build_text_index;
use leakdex::segment::{BuildOptions, build_segment};
use leakdex::service::client::connect;
use leakdex::service::proto::{self, lookup_client::LookupClient};
use leakdex::storage::DataDir;
use proptest::prelude::*;
use tonic::Code;

const PEOPLE: &str = "name,mobile,district,address
Lynette D'Mello,9812345670,Mumbai,\"12/4 St. Mary's Road, Bandra\"
R. K. Sharma,9812345671,Pune,\"Flat 3-B, M.G. Road\"
Mary-Ann Fernandes,9812345672,Goa,\"H.No. 5/112, Panjim\"
Sunita Sharma,9812345674,Jaipur,Ward 5
Rahul O'Brien,9812345675,Pune,\"7 O'Connell Street\"
सुनीता शर्मा,9812345676,जयपुर,वार्ड 5
राहुल वर्मा,9812345677,पुणे,
";

/// The people above, ingested (no full text yet) into a data directory of `dir`.
fn ingested(dir: &std::path::Path) -> (DataDir, leakdex::segment::BuildReport) {
    let data = crate::common::deployment(&dir.join("data"));
    let csv = dir.join("people.csv");
    std::fs::write(&csv, PEOPLE).unwrap();
    let report = build_segment(
        &data,
        &*crate::common::catalog_of(&data),
        &Corpus::new("people", CorpusKind::Leak),
        &[csv],
        &BuildOptions::default(),
    )
    .unwrap();
    (data, report)
}

/// The people above, indexed with full text, in a data directory of `dir`.
fn indexed(dir: &std::path::Path) -> DataDir {
    let (data, report) = ingested(dir);
    for id in &report.segments {
        build_text_index(&data, id).unwrap();
    }
    data
}

/// Record numbers found by `query` over gRPC, or the status.
async fn found(
    lookup: &mut LookupClient<leakdex::service::client::Connection>,
    query: &str,
    plain: bool,
) -> Result<Vec<u64>, tonic::Status> {
    let hits = lookup
        .search(proto::SearchRequest {
            query: query.into(),
            limit: 10,
            corpora: Vec::new(),
            plain,
        })
        .await?
        .into_inner()
        .hits;
    let mut records: Vec<u64> = hits.iter().map(|hit| hit.record).collect();
    records.sort_unstable();
    Ok(records)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_ids_are_found_as_investigators_type_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = indexed(dir.path());
    let store = TokenStore::new(&data);
    let served = Served::start(&data, None).await;
    for role in [Role::Investigator, Role::Analyst] {
        let token = store.create(role.as_str(), role).unwrap().1;
        let mut lookup = LookupClient::new(connect(&served.url, Some(&token)).await.unwrap());
        let cases: [(&str, &[u64]); 12] = [
            ("name:d'mello", &[1]),
            ("d'mello", &[1]),
            ("name:o'brien", &[5]),
            ("st. mary's", &[1]),
            ("address:o'connell", &[5]),
            ("R. K. Sharma", &[2]),
            ("name:mary-ann", &[3]),
            ("address:5/112", &[3]),
            (r#"name:"sunita sharma"#, &[4, 6]),
            ("sharma AND", &[2, 4, 6]),
            ("OR name:lynette", &[1]),
            ("name:(d'mello OR o'brien) district:pune", &[5]),
        ];
        for (query, expected) in cases {
            assert_eq!(
                found(&mut lookup, query, false).await.unwrap(),
                expected,
                "{query} as {role}"
            );
        }
        // Names across scripts, both ways.
        assert_eq!(found(&mut lookup, "sunita sharma", false).await.unwrap(), [4, 6]);
        assert_eq!(found(&mut lookup, r#"name:"सुनीता शर्मा""#, false).await.unwrap(), [4, 6]);
        assert_eq!(found(&mut lookup, "name:राहुल", false).await.unwrap(), [5, 7]);
        assert_eq!(found(&mut lookup, "name:rahul", false).await.unwrap(), [5, 7]);
        assert_eq!(found(&mut lookup, "rahul varma", true).await.unwrap(), [7]);
        // An Indic word is one word, conjuncts and all: part of it finds nothing.
        assert_eq!(found(&mut lookup, "name:वर्मा", false).await.unwrap(), [7]);
        assert_eq!(found(&mut lookup, "name:वर", false).await.unwrap(), Vec::<u64>::new());
        // Plain mode: words as written, nothing is syntax.
        assert_eq!(found(&mut lookup, "d'mello (mumbai", true).await.unwrap(), [1]);
        assert_eq!(found(&mut lookup, "sharma pune", true).await.unwrap(), [2]);
        assert_eq!(
            found(&mut lookup, "name:sharma", true).await.unwrap(),
            Vec::<u64>::new()
        );
        // Still unreadable: refused, with where and what was expected.
        let refused = found(&mut lookup, "name:(sunita", false).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert!(refused.message().contains("at byte 12: expected ')'"), "{refused}");
        let empty = found(&mut lookup, "( ) \"", true).await.unwrap_err();
        assert_eq!(empty.code(), Code::InvalidArgument);
    }
    // Hits say why, to roles that see contents: the fields that matched come first in the
    // snippet, with the words marked.
    for role in [Role::Investigator, Role::Analyst] {
        let token = store.create(&format!("{role}-why"), role).unwrap().1;
        let mut lookup = LookupClient::new(connect(&served.url, Some(&token)).await.unwrap());
        let hits = lookup
            .search(proto::SearchRequest {
                query: "district:mumbai d'mello".into(),
                limit: 10,
                corpora: Vec::new(),
                plain: false,
            })
            .await
            .unwrap()
            .into_inner()
            .hits;
        assert_eq!(hits.len(), 1);
        if role == Role::Investigator {
            let fields: Vec<&str> = hits[0].matched.iter().map(|found| found.field.as_str()).collect();
            assert_eq!(fields, ["name", "district"], "as {role}");
            assert!(hits[0].snippet.starts_with("name: "), "{}", hits[0].snippet);
            let name = &hits[0].matched[0];
            assert_eq!(name.value, "Lynette D'Mello");
            let marked: Vec<&str> = name
                .spans
                .iter()
                .map(|span| &name.value[span.start as usize..span.end as usize])
                .collect();
            assert_eq!(marked, ["D", "Mello"]);
            assert!(hits[0].snippet.contains("D'Mello"));
        } else {
            // Not even which field matched: it would confirm a redacted value.
            assert!(hits[0].matched.is_empty(), "{:?}", hits[0].matched);
            assert!(!hits[0].snippet.contains("Mello"), "{}", hits[0].snippet);
        }
    }
    served.stop().await;

    // The CLI reads the same, with --plain, and marks what matched.
    let printed = |arguments: &[&str]| {
        let output = leakdex(data.root()).arg("search").args(arguments).output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let (ok, out, errors) = printed(&["name:d'mello"]);
    assert!(
        ok && out.contains("record 1") && out.contains("1 hits"),
        "{out}{errors}"
    );
    assert!(out.contains("matched name: Lynette «D»'«Mello»"), "{out}");
    // Fuzzy words are marked where they matched, within their distance.
    let (ok, out, _) = printed(&["name:fernandez~1"]);
    assert!(ok && out.contains("matched name: Mary-Ann «Fernandes»"), "{out}");
    let (ok, out, _) = printed(&["name:वर्मा"]);
    assert!(ok && out.contains("matched name: राहुल «वर्मा»"), "{out}");
    let (ok, out, _) = printed(&["--plain", "o'connell street"]);
    assert!(ok && out.contains("record 5"), "{out}");
    let (ok, _, errors) = printed(&["name:[a TO"]);
    assert!(!ok && errors.contains("at byte 10"), "{errors}");

    // A text index an older leakdex built (words cut by tantivy's default tokenizer) is refused
    // with the command that rebuilds it, and `reindex-text --force` builds every text index
    // again, replacing the one there.
    let text = data.root().join("text");
    let segment = std::fs::read_dir(&text).unwrap().next().unwrap().unwrap().path();
    std::fs::remove_dir_all(&segment).unwrap();
    std::fs::create_dir_all(&segment).unwrap();
    let mut old_schema = tantivy::schema::Schema::builder();
    old_schema.add_u64_field("record", tantivy::schema::INDEXED | tantivy::schema::STORED);
    old_schema.add_text_field("name", tantivy::schema::TEXT);
    tantivy::Index::create_in_dir(&segment, old_schema.build()).unwrap();
    std::fs::write(segment.join("left-by-the-old-build"), "").unwrap();
    let (ok, _, errors) = printed(&["name:sharma"]);
    assert!(!ok && errors.contains("leakdex reindex-text --force"), "{errors}");
    let rebuilt = leakdex(data.root()).args(["reindex-text", "--force"]).output().unwrap();
    assert!(rebuilt.status.success(), "{}", String::from_utf8_lossy(&rebuilt.stderr));
    assert!(segment.exists() && !segment.join("left-by-the-old-build").exists());
    let (ok, out, _) = printed(&["name:\"सुनीता शर्मा\""]);
    assert!(ok && out.contains("2 hits"), "{out}");
}

/// Names whose inner vowels Hindi and Marathi speakers do not sound are found as they type them
/// (`deshpande`, `kulkarni`), and as transliterated letter by letter (`deshapande`), both ways.
#[test]
fn names_are_found_spelled_as_spoken() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = dir.path().join("ward.csv");
    std::fs::write(
        &csv,
        "नाव,मोबाइल\nप्रकाश देशपांडे,9822012345\nस्नेहा कुलकर्णी,9822054321\nSneha Kulkarni,9822054322\n",
    )
    .unwrap();
    let ingested = leakdex(&data)
        .args(["ingest", "--corpus", "ward"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        ingested.status.success(),
        "{}",
        String::from_utf8_lossy(&ingested.stderr)
    );
    let hits = |query: &str| {
        let output = leakdex(&data).args(["search", "--json", query]).output().unwrap();
        // One JSON object per hit, a line each.
        let mut records: Vec<u64> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok()?["record"].as_u64())
            .collect();
        records.sort_unstable();
        records
    };
    assert_eq!(hits("name:deshpande"), [1]);
    assert_eq!(hits("name:deshapande"), [1]);
    assert_eq!(hits("kulkarni"), [2, 3]);
    assert_eq!(hits("name:कुलकर्णी"), [2, 3]);
}

/// The text index reports every record it is handed, for the CLI's progress bar.
#[test]
fn building_the_text_index_reports_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let (data, report) = ingested(dir.path());
    let reported = std::cell::Cell::new(0);
    for id in &report.segments {
        leakdex::segment::text::build_text_index_reporting(&data, id, &|records| {
            reported.set(reported.get() + records)
        })
        .unwrap();
        leakdex::segment::text::rebuild_text_index(&data, id, &|records| reported.set(reported.get() + records))
            .unwrap();
    }
    assert_eq!(reported.get(), 2 * report.records);
}

/// The README's search examples: each runs as written, finds something, and says what matched.
#[test]
fn the_readme_search_examples_run_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = indexed(dir.path());
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme.find("Search examples").expect("the README's search examples")..];
    let block = &section[section.find("```sh\n").unwrap() + 6..];
    let block = &block[..block.find("```").unwrap()];
    let examples: Vec<Vec<String>> = block
        .lines()
        .filter_map(|line| line.split('#').next()?.trim().strip_prefix("leakdex search "))
        .map(shell_words)
        .collect();
    assert!(examples.len() >= 7, "{block}");
    for arguments in examples {
        let output = leakdex(data.root()).arg("search").args(&arguments).output().unwrap();
        let printed = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{arguments:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !printed.contains("\n0 hits") && printed.contains("matched "),
            "{arguments:?}: {printed}"
        );
    }
}

/// A command line's words as a POSIX shell splits them (single and double quotes, no escapes:
/// the README's examples use none).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for character in line.chars() {
        match (quote, character) {
            (Some(open), close) if close == open => quote = None,
            (Some(_), other) => current.push(other),
            (None, '\'' | '"') => {
                quote = Some(character);
                in_word = true;
            }
            (None, blank) if blank.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, other) => {
                current.push(other);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// No query text, plain or not, makes reading or running it panic or fail but as a query.
    #[test]
    fn any_query_text_is_read_or_refused(
        pieces in proptest::collection::vec(
            prop::sample::select(vec![
                "name:", "d'mello", "'", "\"", "(", ")", "[", "]", "{", "}", "AND", "OR", "NOT", "-", "+",
                "~1", "^2", "*", "\\", "/", ".", ":", " ", "sunita", "12/4", "’", "TO", "!",
            ]),
            0..12,
        ),
        plain in any::<bool>(),
    ) {
        static DATA: std::sync::OnceLock<(tempfile::TempDir, leakdex::query::Index)> = std::sync::OnceLock::new();
        let (_, index) = DATA.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let data = indexed(dir.path());
            let index = leakdex::query::Index::open(&data, &*crate::common::catalog_of(&data), &[]).unwrap();
            (dir, index)
        });
        let text: String = pieces.concat();
        if let Ok(readable) = leakdex::query::readable(&text, plain)
            && leakdex::query::check_query(&readable, leakdex::query::SearchScope::Full).is_ok()
        {
            // Answered, or refused as a query (`-x` alone: only excluding terms), nothing else.
            let searched = leakdex::query::search(index, &readable, 5, &[]);
            prop_assert!(
                matches!(searched, Ok(_) | Err(leakdex::query::QueryError::Search(_))),
                "{text:?} read as {readable:?}: {searched:?}"
            );
        }
    }
}
