// Typeset the math of a page with KaTeX (copied into the site by docs/hooks.py).
// pymdownx.arithmatex (generic) leaves each formula in an element of class "arithmatex",
// delimited by \( \) or \[ \]. A formula KaTeX cannot parse is shown in red
// (class "katex-error"), which the browser test looks for.
function typesetMath() {
  document.querySelectorAll(".arithmatex").forEach(function (element) {
    renderMathInElement(element, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  });
  document.body.dataset.mathRendered = "true";
}

if (typeof document$ !== "undefined") {
  document$.subscribe(typesetMath); // Material's page-load stream
} else {
  document.addEventListener("DOMContentLoaded", typesetMath);
}
