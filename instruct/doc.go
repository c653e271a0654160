// Package instruct turns an approved plan into instructions, one per
// household and one per group's escort (muster.Instruction), and writes
// them in English, Dari and Pashto.
//
// It has three phases, each usable alone:
//
//   - Build (and Reissue, after a re-plan) makes the instructions' content
//     from plan.json, the evacuee records and the foot network: the rally
//     point, walking directions with street names (Streets matches the
//     plan's walk geometry to the graph's arcs), a report-by window that
//     keeps the rally point within its capacity and hours, a group code
//     and a rally point's code word derived under the deployment secret,
//     what to bring, whom to ask; versions that supersede the one before
//     only when the content changes.
//   - Text, HTML and Short (or Render, all three) write one instruction
//     from the message catalogs in catalog/: the long form for e-mail or
//     print and the short form for SMS, with numbers and times as each
//     language writes them and the directional isolates right-to-left text
//     needs around Latin names. Data is cleaned of bidi and control
//     characters before it is placed in any text.
//   - MeasureSMS counts an SMS's encoding, units and segments.
//
// Nothing here stores, signs or sends: the store keeps instructions, the
// signing package binds a token to Instruction.Digest, delivery sends the
// texts. docs/instructions.md describes an instruction for operators.
package instruct
