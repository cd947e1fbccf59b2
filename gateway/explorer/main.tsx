// First: Monaco looks for its workers as soon as it loads.
import "./workers";
import "graphiql/style.css";
import "./explorer.css";
import { createRoot } from "react-dom/client";
import { Explorer } from "./explorer";

const container = document.getElementById("explorer");
if (!container) throw new Error("the page has no #explorer element");
createRoot(container).render(<Explorer />);
