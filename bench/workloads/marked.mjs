// Real workload: marked renders a large Markdown document. Prints wall ms and peak RSS.
import { marked } from 'marked';
const section = (i) => `## Section ${i}\n\nSome *emphasis*, **strong** text, \`code\`, and a [link](https://example.test/${i}).\n\n- item one\n- item two with _style_\n  - nested ${i}\n\n> a quote ${i}\n\n\`\`\`js\nconst x${i} = ${i};\n\`\`\`\n\n| a | b |\n|---|---|\n| ${i} | ${i * 2} |\n\n`;
const doc = Array.from({ length: Number(process.argv[2] || 2000) }, (_, i) => section(i)).join('');
const t0 = process.hrtime.bigint();
const html = marked.parse(doc);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(JSON.stringify({ ms, bytes: html.length, docBytes: doc.length, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
