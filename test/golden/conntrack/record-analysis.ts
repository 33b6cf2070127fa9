// Re-records analysis-reports.json: `replyguard analyze --json` of each input in
// analysis-inputs.ts. The committed file was recorded by the analysis that read
// the whole file into memory (commit 4d85412); the streaming analysis must give
// the same reports. Re-record only for an intended change of findings, and
// review the diff:
//   node --import tsx test/golden/conntrack/record-analysis.ts

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeCapture } from '../../../src/analyze/analyze-capture';
import { ANALYSIS_NOW, analysisInputs } from './analysis-inputs';

const out: Record<string, unknown> = {};
for (const { name, text, view } of analysisInputs()) out[name] = analyzeCapture(text, name, view, { now: ANALYSIS_NOW });
writeFileSync(join(__dirname, 'analysis-reports.json'), `${JSON.stringify(out, null, 1)}\n`);
