// An 8-bit counter with synchronous reset and enable, and a wrap flag.
module counter (
    input  wire       clk,
    input  wire       rst,
    input  wire       en,
    output reg  [7:0] count,
    output wire       wrap
);
    always @(posedge clk)
        if (rst)
            count <= 8'd0;
        else if (en)
            count <= count + 8'd1;
    assign wrap = en && count == 8'hff;
endmodule
