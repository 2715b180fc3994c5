// Parse TeX with KaTeX, the renderer MkDocs and Jupyter-style Markdown pages use.
// stdin: JSON [[tex, displayMode], ...]; stdout: JSON [null | "error message", ...].
// argv[2]: the folder of the katex package (node_modules/katex).
const katex = require(process.argv[2]);
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const results = JSON.parse(input).map(([tex, displayMode]) => {
    try {
      katex.renderToString(tex, { displayMode, throwOnError: true, strict: "error" });
      return null;
    } catch (error) {
      return String(error.message || error);
    }
  });
  process.stdout.write(JSON.stringify(results));
});
