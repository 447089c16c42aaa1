// ESLint rule: relative imports in api/src must follow the folder layering in layers.mjs.
// The judgement itself lives in layers.mjs so that count-upward-imports.mjs gives the same answer.
import { classifyImport } from './layers.mjs';

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports between api/src folders follow the layer table in api/lint/layers.mjs' },
    schema: [],
    messages: { violation: '{{message}}' },
  },
  create(context) {
    const filename = context.physicalFilename ?? context.filename;
    const check = (node, source) => {
      if (!source || typeof source.value !== 'string') return; // computed import(x): cannot judge
      const found = classifyImport(filename, source.value);
      if (found) context.report({ node: source, messageId: 'violation', data: { message: found.message } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source),
      // Type-position `import('../x.js').T`: same dependency, and the counter's regex sees it too.
      TSImportType: (node) => check(node, node.source),
    };
  },
};

export default { rules: { 'feature-boundaries': rule } };
