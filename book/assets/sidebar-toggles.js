/* Make the visible sidebar buttons work: ☰ (the book's contents) and the "contents" icon (this page's
 * sections) in the article header.
 *
 * pydata-sphinx-theme 0.17 puts a second, hidden pair of these buttons in the top bar, and both it and
 * sphinx-book-theme 1.3 attach their click handlers with document.querySelector, which finds the hidden
 * pair first (pydata/pydata-sphinx-theme#2451). Tapping a visible button then only showed its tooltip.
 * A click on any other button of the same kind is passed on to the one that holds the handlers: on a
 * narrow screen it opens the sidebar as a dialog, on a wide one ☰ hides or shows the left sidebar.
 * tests/test_site.py taps the buttons at 390 px and clicks ☰ at 1400 px.
 */
(() => {
  const forward = (selector) => {
    const [handled, ...others] = document.querySelectorAll(selector);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        // A theme that already handles this button has opened its dialog by now: do not open it twice.
        if (!document.querySelector("dialog[id$='-sidebar-modal'][open]")) {
          handled.click();
        }
      });
    }
  };
  const setup = () => {
    forward(".primary-toggle");
    forward(".secondary-toggle");
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
