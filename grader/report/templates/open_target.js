// A link to a question's section of what the class got wrong (the pass-rate chart's bars, the questions table)
// opens that collapsed <details>.
function openTarget() {
  var id = decodeURIComponent(location.hash.slice(1));
  var target = id && document.getElementById(id);
  if (target && target.tagName === "DETAILS") {
    target.open = true;
  }
}
window.addEventListener("hashchange", openTarget);
openTarget();
