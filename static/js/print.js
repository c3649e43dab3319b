// The print views' Print button: the browser's own print dialog (the page's print styles hide the toolbar).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print-page]")) {
    window.print();
  }
});
