export { figure, grid, figureBundle, figureDisplay, figureText, figurePage, PLOTLY_MIME, type Figure, type Trace } from "./figure";
export { Table, formatCell, type Cell } from "./table";
export { showBundle, showFigure, showTable, showMarkdown } from "./show";
export { Result } from "./result";
export { inKernel, liveKernel, sendBundle, mimeBundle, type MimeBundle, type DisplayBundle, type RichDisplay } from "./kernel";
export { progress, type Progress } from "./progress";
