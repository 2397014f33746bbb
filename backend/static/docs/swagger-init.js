// Starts Swagger UI on the service's own OpenAPI document. A script file rather than an inline script, so the
// docs page's Content-Security-Policy can allow scripts from the service itself and nothing else.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var container = document.getElementById("swagger-ui");
  document.body.style.margin = "0";
  window.ui = SwaggerUIBundle({
    url: container.dataset.openapiUrl,
    domNode: container,
    deepLinking: true,
    validatorUrl: null, // Swagger UI's default badge would ask validator.swagger.io about our document
    presets: [SwaggerUIBundle.presets.apis],
  });
});
