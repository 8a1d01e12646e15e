// The interactive page of the OpenAPI document: Swagger UI from the service's own copy.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // no call to an outside validator
  });
});
