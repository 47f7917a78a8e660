// pixyproxy's gallery: more images as one scrolls, the generate form's progress, and a
// list's jobs as they run.
// Every page works without this file; it only spares a click and shows what is going on.
"use strict";

(() => {
  const parse = (html) => new DOMParser().parseFromString(html, "text/html");

  // Infinite scroll: when the "More images" link comes into view, fetch the page it names
  // and move its tiles (and its own "More images" link) into this one.
  const grid = document.getElementById("grid");

  const watch = (more) => {
    if (!grid || !more || !("IntersectionObserver" in window)) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) {
        observer.disconnect();
        loadMore(more);
      }
    }, { rootMargin: "200px" });
    observer.observe(more);
  };

  const loadMore = async (more) => {
    more.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(more.href, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      const page = parse(await response.text());
      for (const tile of page.querySelectorAll("#grid > li")) {
        grid.append(document.adoptNode(tile));
      }
      const next = page.getElementById("more");
      if (next) {
        more.href = next.href;
        more.removeAttribute("aria-busy");
        watch(more);
      } else {
        more.parentElement.remove();
      }
    } catch (error) {
      more.removeAttribute("aria-busy");
      more.textContent = "Could not load more images: try again";
    }
  };

  watch(document.getElementById("more"));

  // Search and filters: leave the fields left empty (and the default order) out of the
  // address, so that it reads /?q=fox rather than /?q=fox&model=&since=&until=...
  const filters = document.querySelector("form.filters");
  if (filters) {
    filters.addEventListener("formdata", (event) => {
      for (const [name, value] of [...event.formData.entries()]) {
        if (value === "" || (name === "order" && value === "newest")) {
          event.formData.delete(name);
        }
      }
    });
  }

  // A list's jobs: follow each open one's events; a partial image shows as it streams,
  // and a job that is done turns into its images.
  const ended = new Set(["done", "failed", "cancelled"]);
  const follow = (tile) => {
    const badge = tile.querySelector(".state");
    const partial = tile.querySelector("img.partial");
    const source = new EventSource(`/jobs/${tile.dataset.job}/events`);
    source.addEventListener("partial", (event) => {
      const data = JSON.parse(event.data);
      if (partial && data.image.startsWith("data:image/")) {
        partial.src = data.image;
        partial.hidden = false;
      }
      badge.textContent = `running: partial image ${data.number}`;
    });
    source.addEventListener("job", (event) => {
      const job = JSON.parse(event.data);
      tile.dataset.state = job.state;
      badge.textContent = job.error ? `${job.state}: ${job.error}` : job.state;
      if (!ended.has(job.state)) return;
      source.close(); // the server closes too; an EventSource would reconnect
      if (partial) partial.remove();
      for (const guid of [...job.images].reverse()) {
        const link = document.createElement("a");
        link.href = `/gallery/image/${guid}`;
        const image = document.createElement("img");
        image.src = `/image/${guid}/thumbnail?size=256`;
        image.alt = job.prompt;
        image.width = 256;
        image.height = 256;
        link.append(image);
        tile.prepend(link);
      }
    });
  };
  if ("EventSource" in window) {
    for (const tile of document.querySelectorAll("li.job")) {
      if (!ended.has(tile.dataset.state)) follow(tile);
    }
  }

  // Generate: post the form in the background, show the time it takes, then open the
  // image (the server redirects to it) or say what went wrong, keeping the prompt.
  const form = document.getElementById("generate");
  if (form) {
    const status = document.getElementById("generate-status");
    const label = status.querySelector("span");
    const problem = document.getElementById("generate-error");
    const button = document.getElementById("generate-button");

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const started = Date.now();
      const tick = () => {
        const seconds = Math.round((Date.now() - started) / 1000);
        label.textContent = `Generating… ${seconds} s`;
      };
      tick();
      const timer = setInterval(tick, 1000);
      button.disabled = true;
      status.hidden = false;
      problem.hidden = true;
      try {
        const response = await fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          credentials: "same-origin",
        });
        if (response.ok && response.redirected) {
          window.location.assign(response.url);
          return;
        }
        const message = parse(await response.text()).querySelector(".error-message");
        problem.textContent = message ? message.textContent : `The server answered ${response.status}`;
      } catch (error) {
        problem.textContent = "The server could not be reached: try again";
      } finally {
        clearInterval(timer);
      }
      status.hidden = true;
      problem.hidden = false;
      button.disabled = false;
    });
  }
})();
