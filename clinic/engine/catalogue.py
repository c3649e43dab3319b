"""A reviewable Markdown catalogue of every rule in the knowledge base (for clinician sign-off).

Run: ``python -m clinic.engine.catalogue > catalogue.md``
"""

from __future__ import annotations

import sys

from .drugs import default_verdict
from .knowledge import SECONDARY_MARK, ActionDef, Knowledge, Threshold, fmt_number, load_knowledge
from .medicine_names import load_index
from .screens import screen_items


def _md(text: str | None) -> str:
    return (text or "–").replace("|", "\\|").replace("\n", " ")


def _refs(k: Knowledge, ids: tuple[str, ...]) -> str:
    out = []
    for rid in ids:
        ref = k.references.get(rid)
        if ref is None:
            out.append(f"{rid} (UNKNOWN)")
        elif ref.url:
            out.append(f"[{rid}]({ref.url})" + (f" ({SECONDARY_MARK})" if ref.secondary else ""))
        else:
            out.append(rid)
    return ", ".join(out)


def _action_rules(k: Knowledge, a: ActionDef) -> list[str]:
    out = [f"*Fires when:* {a.fires_when or 'MISSING'}."]
    left_out = [f"any {u} red flag" for u in a.suppressed_at] + [f"`{f}`" for f in a.suppressed_by]
    if left_out:
        out.append(f"*Left out when raised:* {', '.join(left_out)}.")
    if a.drug is not None:
        gate = (
            f"*Drug:* `{a.drug}` (not offered when its verdict is avoid, when the patient is on it, or when a trial "
            "of it failed or is under way)"
        )
        if a.line is not None:
            earlier = sorted(d.drug for d in k.actions.values() if d.drug and d.line is not None and d.line < a.line)
            gate += f"; *line {a.line}*" + (
                f": only after a documented failed trial of {', '.join(f'`{x}`' for x in earlier)}" if earlier else ""
            )
        out.append(gate + ".")
    if a.needs_screens:
        out.append(f"*Withheld until answered:* {', '.join(f'`{x}`' for x in a.needs_screens)}.")
    if a.orders:
        out.append(f"*Orders:* {', '.join(a.orders)} (not asked for again by `labs.order_missing`).")
    if a.do_now is not None:
        out.append(f"*Do now (rank {a.do_now.rank}):* {a.do_now.text}")
    return out


def _lab_limits(k: Knowledge, t: Threshold) -> str:
    """' (= 1.7 mg/dL = 1.4 mEq/L; post-dialysis samples too)' for a lab threshold; empty otherwise."""
    if t.analyte is None or t.analyte not in k.analytes:
        return ""
    units = k.analytes[t.analyte].unit_lookup
    same = [f"{fmt_number(v)} {units[key].unit if key in units else key}" for key, v in t.in_units.items()]
    parts = [f"{t.analyte}"] + (["= " + " = ".join(same)] if same else [])
    parts.append("post-dialysis samples too" if t.post_dialysis else "not post-dialysis samples")
    return " (" + "; ".join(parts) + ")"


def _reference_range(low: float | None, high: float | None) -> str:
    return f"{'' if low is None else fmt_number(low)}–{'' if high is None else fmt_number(high)}"


def render_markdown(knowledge: Knowledge | None = None) -> str:
    k = knowledge or load_knowledge()
    lines: list[str] = []
    add = lines.append
    add(f"# Chairside rule catalogue — knowledge {k.version}")
    add("")
    add(f"**Status:** {k.status}  ")
    add(f"**Population:** {k.population}  ")
    add(f"**Knowledge hash:** `{k.content_hash[:16]}`")
    add("")
    add("Evidence tags: " + " ".join(f"**{t}** {d}" for t, d in k.evidence_tags.items()))
    add("")

    add("## 1. Thresholds (thresholds.toml)")
    add("")
    add("| id | meaning | fires when | evidence | sources | note |")
    add("|---|---|---|---|---|---|")
    for t in k.thresholds.values():
        if t.source_file == "thresholds":
            cmp = f"value {t.op} {fmt_number(t.value)} {t.unit}" if t.op else f"= {fmt_number(t.value)} {t.unit}"
            cmp += _lab_limits(k, t)
            add(f"| `{t.id}` | {_md(t.label)} | {_md(cmp)} | {t.evidence} | {_refs(k, t.sources)} | {_md(t.note)} |")
    add("")
    add("## 2. Unit policy (policy.toml) — a unit may change these after sign-off")
    add("")
    add("| id | meaning | value | facts.md default | evidence | sources | note |")
    add("|---|---|---|---|---|---|---|")
    for t in k.thresholds.values():
        if t.source_file == "policy":
            val = f"{t.op or '='} {fmt_number(t.value)} {t.unit}" + _lab_limits(k, t)
            fd = "–" if t.facts_default is None else fmt_number(t.facts_default)
            changed = " **(changed)**" if t.facts_default is not None and t.facts_default != t.value else ""
            add(
                f"| `{t.id}` | {_md(t.label)} | {_md(val)}{changed} | {fd} | {t.evidence} | "
                f"{_refs(k, t.sources)} | {_md(t.note)} |"
            )
    add("")

    add("## 3. Red flags (redflags.toml)")
    add("")
    for r in sorted(k.red_flags.values(), key=lambda r: r.order):
        tiers = ", ".join(f"{tier}: **{u}**" for tier, u in r.urgency.items())
        add(f"### `{r.code}` — {r.title}")
        add("")
        add(f"- **Criteria:** {r.criteria}")
        add(f"- **Fires when:** {r.fires_when or 'MISSING'}")
        add(f"- **Urgency:** {tiers}")
        add("- **Required actions:**")
        for step_text in r.actions:
            add(f"  - {step_text}")
        if r.do_now_covers:
            add(f'- **In "do now" its first action stands for:** {", ".join(f"`{x}`" for x in r.do_now_covers)}')
        add(f"- **Evidence:** {r.evidence} — **Sources:** {_refs(k, r.sources)}")
        add("")

    add("## 4. Care-plan actions (actions.toml)")
    add("")
    add(
        "Each action shows when it fires, which raised red flags leave it out (their own first actions conflict "
        "with it), the screens whose unanswered questions withhold it, its treatment line, and its line in the "
        'nurse\'s "do now" list (at most 5 lines, lowest rank first). Red flags enter "do now" with their '
        "first action at rank " + ", ".join(f"{u} {r}" for u, r in k.do_now_flag_ranks.items()) + "."
    )
    add("")
    for step in k.steps.values():
        add(f"### Step `{step.code}` — {step.title}")
        add("")
        for a in k.actions.values():
            if a.step != step.code:
                continue
            add(f"- **`{a.code}`** ({a.who}; evidence {a.evidence}; {_refs(k, a.sources)})  ")
            add(f"  {a.text}  ")
            if a.nurse_text:
                add(f"  *Nurse wording:* {a.nurse_text}  ")
            for line in _action_rules(k, a):
                add(f"  {line}  ")
        add("")

    add("### Screens (actions.toml `[screens]`)")
    add("")
    add("A drug trial that lists a screen in `needs_screens` is withheld while the screen applies and one of its")
    add('questions is unanswered: "not assessed" never satisfies "red flags excluded".')
    add("")
    for sc in k.screens.values():
        add(f"- **`{sc.code}`** — {sc.title}. *Applies when:* {sc.fires_when}.  ")
        add(f"  *Questions:* {', '.join(f'`{q}`' for q in screen_items(sc, k))}")
    add("")
    if k.advice:
        add("### Shared sentences (actions.toml `[advice]`)")
        add("")
        for aid, text in k.advice.items():
            add(f"- `{aid}`: {text}")
        add("")

    add("## 5. Drug verdicts (drugs.toml)")
    add("")
    add("Verdicts can only become stricter (usable < caution < avoid). Hard stops cannot be overridden.")
    add("")
    for d in k.drugs.values():
        hard = " — **HARD STOP**" if d.hard_stop else ""
        add(f"### `{d.code}` — {d.name}: default **{default_verdict(d)}**{hard}")
        add("")
        add(f"- **Why:** {d.why}")
        add(f"- **Dose:** {_md(d.dose)}")
        add(f"- **Max duration:** {_md(d.max_duration)}")
        add(f"- **Monitoring:** {_md(d.monitoring)}")
        if d.tighten:
            add("- **Stricter when:**")
            for rule in d.tighten:
                add(f"  - `{rule.factor}` → **{rule.verdict}**: {rule.why}")
        if d.order:
            mx = f"; max `{d.order.max_id}`" if d.order.max_id else ""
            hs = " (hard stop above)" if d.order.hard_stop_above else ""
            add(f"- **Order check:** units {', '.join(d.order.units)}{mx}{hs}")
        add(f"- **Evidence:** {d.evidence} — **Sources:** {_refs(k, d.sources)}")
        add("")

    add("## 6. Laboratory analytes (analytes.toml)")
    add("")
    add("| analyte | SI unit | accepted units (× factor to SI) | plausible | reference | LOINC |")
    add("|---|---|---|---|---|---|")
    for analyte in k.analytes.values():
        units = "; ".join(f"{u.unit} ×{fmt_number(u.to_si)}" for u in analyte.units)
        ref_range = _reference_range(analyte.reference_low, analyte.reference_high) + "".join(
            f"; {_reference_range(lo, hi)} {analyte.unit_lookup[key].unit}"
            for key, (lo, hi) in analyte.reference_in.items()
        )
        add(
            f"| {analyte.name} | {analyte.si_unit} | {_md(units)} | {fmt_number(analyte.plausible_min)}–"
            f"{fmt_number(analyte.plausible_max)} | {ref_range} | {', '.join(analyte.loinc) or '–'} |"
        )
    add("")

    add("## 7. Findings (codes.toml)")
    add("")
    add("| code | name | nurse question | group | 60-s screen |")
    add("|---|---|---|---|---|")
    for f in k.findings.values():
        add(f"| `{f.code}` | {f.name} | {_md(f.question)} | {f.group} | {'yes' if f.screen else ''} |")
    add("")

    add("## 8. References")
    add("")
    for ref in k.references.values():
        link = f" <{ref.url}>" if ref.url else " (primary text not retrieved / internal)"
        add(f"- **{ref.id}** {ref.title}.{link}" + (f" ({SECONDARY_MARK})" if ref.secondary else ""))
    add("")

    index = load_index(k)
    add("## 9. Medicine names (medicine_names.toml)")
    add("")
    add(
        "Free text is matched after doses, strengths, frequencies, routes, forms and salts are set aside; a spelling "
        "within one letter (two for names of 8 letters or more) of exactly one listed name is read as it, and the "
        "plan says so. A match behaves exactly like the code (hard stops, taper advice); anything else is listed as "
        f"unrecognised. Review status: {index.review}."
    )
    add("")
    add("| code | names (kind, source) |")
    add("|---|---|")
    for code, name in k.medications.items():
        names = [f"{line.name} ({line.kind}, {_refs(k, (line.source,))})" for line in index.lines if line.code == code]
        add(f"| `{code}` ({name}) | {_md('; '.join(names)) if names else '–'} |")
    add("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render_markdown())
