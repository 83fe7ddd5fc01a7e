// Starts Swagger UI on /openapi.json (a file of its own: the Content-Security-Policy allows no inline script).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  if (typeof SwaggerUIBundle !== "function") return;
  SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
