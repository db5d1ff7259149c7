import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App.js";
import "./styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");

// The merchant console is its own app under /console, loaded only there: the public explorer
// never downloads it, and the console brings its own router, data and language layers.
const inConsole =
  window.location.pathname === "/console" || window.location.pathname.startsWith("/console/");

if (inConsole) {
  import("./console/index.js").then(({ ConsoleApp }) => {
    createRoot(root).render(
      <StrictMode>
        <ConsoleApp />
      </StrictMode>,
    );
  });
} else {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
