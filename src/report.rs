//! The provenance report as one self-contained HTML file: nothing fetched, charts drawn as inline
//! SVG, so it opens offline in any browser and can be attached to a case file.
//! Verdict first, then containment per corpus with its interval, the overlap between corpora,
//! the distribution of match scores, and examples of suspect records beside their sources.

use crate::query::provenance::{EVIDENCE_BIN_BITS, Report, support};
use std::fmt::Write;

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}\
.verdict{font-size:1.1em;background:#fff8e1;border-left:6px solid #f0a500;padding:1em}\
.canary{background:#fde8e8;border-left:6px solid #c62828;padding:1em;font-weight:bold}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .5em;vertical-align:top;font-size:.9em}\
th{background:#f4f4f4}.num{text-align:right}.agree{color:#1b5e20}.disagree{color:#b71c1c}svg text{font-size:12px}";

/// Renders the report.
pub fn render_html(report: &Report) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>leakdex provenance report</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(html, "<h1>Provenance report</h1>");
    for hit in &report.canaries {
        let _ = write!(
            html,
            "<p class=\"canary\">Canary: suspect {}:{} matches a record planted in copy {} ({}).</p>",
            escape(&hit.suspect_file),
            hit.suspect_line,
            escape(&hit.copy),
            escape(&hit.canary)
        );
    }
    let _ = write!(
        html,
        "<p class=\"verdict\" id=\"verdict\">{}</p><p>{} suspect records: {} matched, {} found in no indexed corpus.</p>",
        escape(&report.verdict),
        report.records,
        report.matched,
        report.unmatched
    );
    containment_chart(&mut html, report);
    corpus_table(&mut html, report);
    overlap_table(&mut html, report);
    evidence_chart(&mut html, report);
    examples(&mut html, report);
    if !report.unmatched_records.is_empty() {
        let _ = write!(
            html,
            "<h2>Records found nowhere (first {})</h2><p>",
            report.unmatched_records.len()
        );
        for unmatched in &report.unmatched_records {
            let _ = write!(html, "{}:{} ", escape(&unmatched.file), unmatched.line);
        }
        html.push_str("</p>");
    }
    if !report.problems.is_empty() {
        html.push_str("<h2>Input that could not be read</h2><ul>");
        for problem in &report.problems {
            let _ = write!(html, "<li>{}</li>", escape(problem));
        }
        html.push_str("</ul>");
    }
    html.push_str(SELF_CHECK);
    html.push_str("</body></html>\n");
    html
}

/// Marks each chart that the browser laid out with a visible size (`data-rendered="yes"`) and
/// says on the console if one did not, so a headless browser can check the report.
const SELF_CHECK: &str = "<script>addEventListener('load',function(){document.querySelectorAll('svg').forEach(function(chart){\
var box=chart.getBBox();var ok=box.width>0&&box.height>0&&chart.querySelectorAll('rect').length>0;\
chart.setAttribute('data-rendered',ok?'yes':'no');if(!ok){console.error('chart '+chart.id+' did not render');}});});</script>";

/// Horizontal bars of containment per corpus with the 95% interval as a whisker.
fn containment_chart(html: &mut String, report: &Report) {
    let corpora: Vec<_> = report
        .corpora
        .iter()
        .filter(|corpus| corpus.matched > 0 || corpus.ranked_first > 0)
        .collect();
    let (label, width, row) = (190.0, 460.0, 26.0);
    let height = row * corpora.len().max(1) as f64 + 30.0;
    let _ = write!(
        html,
        "<h2>Containment per corpus</h2><svg id=\"containment-chart\" role=\"img\" aria-label=\"containment per corpus\" width=\"{}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        label + width + 80.0
    );
    for (position, corpus) in corpora.iter().enumerate() {
        let y = position as f64 * row + 4.0;
        let bar = corpus.containment * width;
        let first = corpus.ranked_first_share * width;
        let (low, high) = (label + corpus.ci95[0] * width, label + corpus.ci95[1] * width);
        let _ = write!(
            html,
            "<text x=\"0\" y=\"{}\">{}</text><rect class=\"bar\" x=\"{label}\" y=\"{y}\" width=\"{bar:.1}\" height=\"18\" fill=\"#90caf9\"><title>contains {:.1}%</title></rect>\
<rect x=\"{label}\" y=\"{}\" width=\"{first:.1}\" height=\"8\" fill=\"#1565c0\"><title>best match for {:.1}%</title></rect>\
<line x1=\"{low:.1}\" x2=\"{high:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#000\"/><line x1=\"{low:.1}\" x2=\"{low:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#000\"/><line x1=\"{high:.1}\" x2=\"{high:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#000\"/>\
<text x=\"{}\" y=\"{}\">{:.1}%</text>",
            y + 13.0,
            escape(&corpus.corpus),
            corpus.containment * 100.0,
            y + 5.0,
            corpus.ranked_first_share * 100.0,
            y + 9.0,
            y + 9.0,
            y + 4.0,
            y + 14.0,
            y + 4.0,
            y + 14.0,
            label + width + 8.0,
            y + 13.0,
            corpus.containment * 100.0
        );
    }
    let axis = height - 20.0;
    let _ = write!(
        html,
        "<line x1=\"{label}\" x2=\"{}\" y1=\"{axis}\" y2=\"{axis}\" stroke=\"#888\"/><text x=\"{label}\" y=\"{}\">0%</text><text x=\"{}\" y=\"{}\">100%</text></svg>\
<p>Light bar: share of suspect records found in the corpus, whisker: its 95% Wilson interval; dark bar: share whose best match is there.</p>",
        label + width,
        axis + 14.0,
        label + width - 30.0,
        axis + 14.0
    );
}

fn corpus_table(html: &mut String, report: &Report) {
    html.push_str("<h2>Corpora</h2><table id=\"corpora\"><tr><th>corpus</th><th>kind</th><th>acquired</th><th>containment (95% CI)</th><th>exclusive</th><th>best match for</th><th>agreeing fields</th><th>schema overlap</th></tr>");
    for corpus in &report.corpora {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{:.1}% ({:.1}–{:.1}%)</td><td class=\"num\">{:.1}%</td><td class=\"num\">{:.1}%</td><td class=\"num\">{:.1}</td><td>{}</td></tr>",
            escape(&corpus.corpus),
            corpus.kind,
            escape(corpus.acquired.as_deref().unwrap_or("-")),
            corpus.containment * 100.0,
            corpus.ci95[0] * 100.0,
            corpus.ci95[1] * 100.0,
            corpus.exclusive * 100.0,
            corpus.ranked_first_share * 100.0,
            corpus.agreeing_fields,
            escape(&corpus.schema_overlap.join(", "))
        );
    }
    html.push_str("</table>");
    if report.timeline.is_empty() {
        html.push_str("<p>No corpus holding these records has an acquisition date.</p>");
    } else {
        let dated: Vec<String> = report
            .timeline
            .iter()
            .map(|(date, corpus)| format!("{corpus} ({date})"))
            .collect();
        let _ = write!(
            html,
            "<p>Held first to last, by acquisition date: {}</p>",
            escape(&dated.join(" → "))
        );
    }
}

/// A matrix of suspect records found in both corpora, shaded by count.
fn overlap_table(html: &mut String, report: &Report) {
    let names: Vec<&str> = report
        .corpora
        .iter()
        .filter(|corpus| corpus.matched > 0)
        .map(|corpus| corpus.corpus.as_str())
        .collect();
    html.push_str("<h2>Overlap between corpora</h2><table id=\"overlap\"><tr><th></th>");
    for name in &names {
        let _ = write!(html, "<th>{}</th>", escape(name));
    }
    html.push_str("</tr>");
    let most = report
        .overlaps
        .iter()
        .map(|overlap| overlap.records)
        .max()
        .unwrap_or(1)
        .max(1);
    for a in &names {
        let _ = write!(html, "<tr><th>{}</th>", escape(a));
        for b in &names {
            let records = if a == b {
                report
                    .corpora
                    .iter()
                    .find(|corpus| corpus.corpus == *a)
                    .map_or(0, |corpus| corpus.matched)
            } else {
                report
                    .overlaps
                    .iter()
                    .find(|overlap| (overlap.a == *a && overlap.b == *b) || (overlap.a == *b && overlap.b == *a))
                    .map_or(0, |overlap| overlap.records)
            };
            let shade = 255 - (records.min(most) * 120 / most) as u8;
            let _ = write!(
                html,
                "<td class=\"num\" style=\"background:rgb({shade},{shade},255)\">{records}</td>"
            );
        }
        html.push_str("</tr>");
    }
    html.push_str("</table><p>Suspect records found in both corpora (diagonal: in that corpus).</p>");
}

fn evidence_chart(html: &mut String, report: &Report) {
    let most = report.evidence_histogram.iter().copied().max().unwrap_or(0).max(1);
    let (width, height) = (40.0, 160.0);
    let _ = write!(
        html,
        "<h2>Evidence of matched records' best matches (bits: each doubles the likelihood ratio)</h2><svg id=\"evidence-chart\" role=\"img\" aria-label=\"evidence distribution\" width=\"{}\" height=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        width * 10.0 + 20.0,
        height + 40.0
    );
    for (bin, count) in report.evidence_histogram.iter().enumerate() {
        let bar = *count as f64 / most as f64 * height;
        let x = bin as f64 * width + 10.0;
        let low = bin as f64 * EVIDENCE_BIN_BITS;
        let range = if bin == 9 {
            format!("{low:.0}+ bits")
        } else {
            format!("{low:.0}–{:.0} bits", low + EVIDENCE_BIN_BITS)
        };
        let _ = write!(
            html,
            "<rect class=\"bar\" x=\"{x}\" y=\"{:.1}\" width=\"{}\" height=\"{bar:.1}\" fill=\"#66bb6a\"><title>{range} ({}): {count}</title></rect><text x=\"{x}\" y=\"{}\">{low:.0}</text>",
            height - bar + 10.0,
            width - 4.0,
            support(low + EVIDENCE_BIN_BITS / 2.0),
            height + 28.0,
        );
    }
    html.push_str("</svg>");
}

fn examples(html: &mut String, report: &Report) {
    if report.examples.is_empty() {
        return;
    }
    html.push_str("<h2>Examples: suspect records beside their sources</h2><table id=\"examples\"><tr><th>suspect record</th><th>best match</th><th>source record</th></tr>");
    for example in &report.examples {
        let fields = |fields: &[(String, String)]| -> String {
            fields
                .iter()
                .map(|(name, value)| format!("<b>{}</b>: {}", escape(name), escape(value)))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let _ = write!(
            html,
            "<tr><td>{}:{}<br>{}</td><td>{} {:.3} ({:.1} bits)<br>{} record {} line {}<br><span class=\"agree\">agree: {}</span><br><span class=\"disagree\">disagree: {}</span><br>{}</td><td>{}</td></tr>",
            escape(&example.suspect_file),
            example.suspect_line,
            fields(&example.suspect),
            escape(&example.corpus),
            example.score,
            example.bits,
            escape(&example.file),
            example.record,
            example.line,
            escape(&example.agreeing.join(", ")),
            escape(&example.disagreeing.join(", ")),
            example
                .evidence
                .iter()
                .map(|evidence| format!(
                    "{}: {} ({:+.1})",
                    escape(&evidence.field),
                    escape(evidence.level),
                    evidence.bits
                ))
                .collect::<Vec<_>>()
                .join("<br>"),
            fields(&example.source)
        );
    }
    html.push_str("</table>");
}
