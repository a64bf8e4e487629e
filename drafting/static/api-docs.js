// Starts Swagger UI on the API reference page (templates/api/docs.html) and mends the
// accessibility gaps of its markup: a name for the servers list and keyboard access to
// scrollable code examples (colours: static/api-docs.css).
function mendAccessibility(root) {
  root.querySelectorAll("select:not([aria-label])").forEach((select) => {
    select.setAttribute("aria-label", select.id === "servers" ? "Server" : select.name || "…");
  });
  root.querySelectorAll("pre:not([tabindex])").forEach((pre) => {
    pre.setAttribute("tabindex", "0");
  });
}

window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.spec,
    domNode: root,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: false,
    validatorUrl: null,
  });
  new MutationObserver(() => mendAccessibility(root)).observe(root, {
    childList: true,
    subtree: true,
  });
});
